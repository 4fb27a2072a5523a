//! Rules as data that test themselves: every built-in rule's examples are found by that rule
//! (and only reported once), and no counterexample is reported by any rule.

use vigil_scan::examples::{expand, Gen};
use vigil_scan::{Finding, Ruleset};

fn scan(rules: &Ruleset, text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    rules.scan_bytes("example.env", None, text.as_bytes(), &mut out);
    out
}

#[test]
fn every_builtin_rule_has_examples_and_counterexamples() {
    let rules = Ruleset::builtin();
    assert!(rules.rules.len() >= 45, "only {} rules", rules.rules.len());
    for r in &rules.rules {
        assert!(!r.spec.examples.is_empty(), "{} has no examples", r.id);
        assert!(
            !r.spec.counterexamples.is_empty(),
            "{} has no counterexamples",
            r.id
        );
        assert!(!r.description.is_empty(), "{} has no description", r.id);
    }
}

#[test]
fn every_example_is_found_by_its_rule() {
    let rules = Ruleset::builtin();
    let mut failures = Vec::new();
    for seed in 1..=20u64 {
        let mut gen = Gen::new(seed * 7919);
        for r in &rules.rules {
            for t in &r.spec.examples {
                let ex = expand(t, &mut gen).unwrap_or_else(|e| panic!("{}: {t}: {e}", r.id));
                let want = &ex.text[ex.secret.clone()];
                let found = scan(&rules, &ex.text);
                let ok = found.len() == 1
                    && found[0].rule == r.id
                    && found[0].secret.expose_secret() == want;
                if !ok {
                    let got: Vec<String> = found
                        .iter()
                        .map(|f| format!("{}={}", f.rule, f.secret.expose_secret()))
                        .collect();
                    failures.push(format!("{} (seed {seed}): template {t:?}\n   text {:?}\n   want {want:?}\n   got {got:?}", r.id, ex.text));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} example failures:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}

#[test]
fn no_counterexample_is_reported() {
    let rules = Ruleset::builtin();
    let mut failures = Vec::new();
    for r in &rules.rules {
        for c in &r.spec.counterexamples {
            let found = scan(&rules, c);
            if !found.is_empty() {
                failures.push(format!(
                    "{}: {c:?} reported as {:?}",
                    r.id,
                    found.iter().map(|f| &f.rule).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn examples_positions_are_exact() {
    let rules = Ruleset::builtin();
    let mut gen = Gen::new(42);
    let ex = expand("# config\n\n  TOKEN_A=«ghp_{alnum:30}{ghcrc}»\n", &mut gen).unwrap();
    let f = scan(&rules, &ex.text);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].line, f[0].column, f[0].end_line), (3, 11, 3));
    assert_eq!(f[0].end_column, 11 + 40);
    assert_eq!(f[0].fingerprint, "example.env:github-pat:3");
}

#[test]
fn github_tokens_with_a_wrong_checksum_are_dropped() {
    let rules = Ruleset::builtin();
    let mut gen = Gen::new(5);
    let ex = expand("GITHUB_TOKEN=«ghp_{alnum:30}{ghcrc}»", &mut gen).unwrap();
    let mut bad = ex.text.clone().into_bytes();
    let i = ex.secret.start + 6;
    bad[i] = if bad[i] == b'Q' { b'R' } else { b'Q' };
    let found = scan(&rules, std::str::from_utf8(&bad).unwrap());
    assert!(found.iter().all(|f| f.rule != "github-pat"), "{found:?}");
}

#[test]
fn the_same_secret_twice_on_a_line_is_two_findings_but_one_per_location() {
    let rules = Ruleset::builtin();
    let mut gen = Gen::new(9);
    let ex = expand("«sk-or-v1-{hex:64}»", &mut gen).unwrap();
    let line = format!("OPENROUTER_API_KEY={0} # backup {0}", ex.text);
    let found = scan(&rules, &line);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|f| f.rule == "openrouter-api-key"));
}

#[test]
fn debug_of_findings_never_shows_the_secret() {
    let rules = Ruleset::builtin();
    let mut gen = Gen::new(11);
    let ex = expand(
        "SLACK_BOT_TOKEN=«xoxb-{digits:12}-{digits:13}-{alnum:24}»",
        &mut gen,
    )
    .unwrap();
    let found = scan(&rules, &ex.text);
    let secret = &ex.text[ex.secret.clone()];
    let shown = format!("{found:?} {}", serde_json::to_string(&found).unwrap());
    assert!(!shown.contains(secret));
    assert!(!shown.contains(&secret[10..30]));
}
