//! Every renderer over the same reports: a scan-like one (secrets, fingerprints, a commit), a
//! problem list like `env check`'s (file, line, key; no secret) and an incomplete one.
//! Snapshots show the formats; the redaction test runs every format both ways.

use super::*;
use crate::{
    Commit, Completeness, Diagnostic, Encoding, Fingerprints, Gap, Location, RuleMeta, Severity,
    Skipped, Tool,
};
use vigil_core::Secret;

/// A secret-shaped value built at run time (no literal token in the source).
pub(crate) fn fake_secret(seed: u8) -> String {
    let body: String = (0..32)
        .map(|i| char::from(b'a' + (seed.wrapping_mul(7).wrapping_add(i * 5)) % 26))
        .collect();
    format!("tok_{body}")
}

pub(crate) fn scan_like() -> Report {
    let mut r = Report::new(Tool::new("scan", "0.1.0"));
    r.columns = vec!["entropy".into()];
    r.rules = vec![
        RuleMeta::new("demo-token", "Demo token")
            .with_help("Rotate the token, then remove it from the code")
            .with_tags(vec!["demo".into()])
            .with_security_severity(8.0),
        RuleMeta::new("unused-rule", "A rule that found nothing").with_security_severity(8.0),
    ];
    let mut a = Diagnostic::new(
        "demo-token",
        Severity::Error,
        Location::file("bot/.env").at_span(2, 15, 2, 51),
        "Demo token found",
    )
    .with_secret(Secret::new(fake_secret(1)))
    .with_property("entropy", 4.8312);
    a.fingerprints = Fingerprints {
        location: Some("bot/.env:demo-token:2".into()),
        content: Some("0123456789abcdef0123456789abcdef".into()),
    };
    let mut b = Diagnostic::new(
        "demo-token",
        Severity::Error,
        Location::file("dir with space/a|b.py").at_span(1, 5, 1, 41),
        "Demo token found",
    )
    .with_secret(Secret::new(fake_secret(2)))
    .with_property("entropy", 4.25);
    b.commit = Some(Commit {
        id: "4b825dc642cb6eb9a060e54bf8d69288fbee4904".into(),
        author: "Alice".into(),
        email: "alice@example.org".into(),
        date: "2026-01-02T12:00:00Z".into(),
        summary: "add config".into(),
    });
    b.decoded = vec![Encoding::Base64, Encoding::Gzip];
    b.archive_path = vec!["dist.zip".into(), "config/.env".into()];
    r.diagnostics = vec![a, b];
    r.completeness.skipped = Skipped {
        binary: 1,
        too_large: 2,
        unreadable: 0,
        ignored: 3,
        allowed_by_marker: 0,
        symlinks: 0,
        special: 0,
    };
    r
}

pub(crate) fn problems_like() -> Report {
    let mut r = Report::new(Tool::new("env check", "0.1.0"));
    r.rules = vec![
        RuleMeta::new(
            "weak",
            "A secret is short, low in entropy or a known default",
        ),
        RuleMeta::new("tracked", "An env file is tracked by git").with_severity(Severity::Warning),
    ];
    r.diagnostics = vec![
        Diagnostic::new(
            "tracked",
            Severity::Warning,
            Location::file(".env"),
            ".env is tracked by git",
        ),
        Diagnostic::new(
            "weak",
            Severity::Error,
            Location::file(".env.production")
                .at_line(1)
                .with_key("DB_PASSWORD"),
            "DB_PASSWORD is short (7 characters); use at least 32 random characters",
        ),
        Diagnostic::new(
            "weak",
            Severity::Error,
            Location::scope("production").with_key("MCP_JWT_SECRET"),
            "MCP_JWT_SECRET has about 10 bits of entropy",
        ),
    ];
    r
}

pub(crate) fn incomplete() -> Report {
    let mut r = scan_like();
    r.diagnostics.truncate(1);
    let mut c = Completeness::default();
    c.gap(Gap::Unreadable, "2 files could not be read");
    c.gap(Gap::Truncated, "an archive nests deeper than 8 levels");
    c.skipped.unreadable = 2;
    r.completeness = c;
    r
}

fn rendered(format: Format, report: &Report, opts: RenderOptions) -> String {
    let mut out = Vec::new();
    render(format, report, &opts, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn full() -> RenderOptions {
    RenderOptions {
        style: TextStyle::Full,
        ..RenderOptions::default()
    }
}

#[test]
fn text_full_is_the_scan_layout() {
    insta::assert_snapshot!(rendered(Format::Text, &scan_like(), full()), @r"
    bot/.env:2:15  demo-token  tok_…rwbg
        Demo token  entropy 4.83  fingerprint bot/.env:demo-token:2
    dir with space/a|b.py!dist.zip!config/.env:1:5 @ 4b825dc642cb  demo-token  tok_…ydin
        Demo token  entropy 4.25  decoded: base64 > gzip
    ");
}

#[test]
fn text_concise_is_one_line_per_problem() {
    insta::assert_snapshot!(rendered(Format::Text, &problems_like(), RenderOptions::default()), @r"
    .env: .env is tracked by git [tracked]
    .env.production:1: DB_PASSWORD is short (7 characters); use at least 32 random characters [weak]
    production: MCP_JWT_SECRET has about 10 bits of entropy [weak]
    ");
    insta::assert_snapshot!(rendered(Format::Text, &incomplete(), full()), @r"
    bot/.env:2:15  demo-token  tok_…rwbg
        Demo token  entropy 4.83  fingerprint bot/.env:demo-token:2
    incomplete: 2 files could not be read
    incomplete: an archive nests deeper than 8 levels
    ");
}

#[test]
fn text_colour_only_when_asked() {
    let plain = rendered(Format::Text, &scan_like(), full());
    assert!(!plain.contains('\x1b'));
    let color = rendered(
        Format::Text,
        &scan_like(),
        RenderOptions {
            color: true,
            ..full()
        },
    );
    assert!(color.contains("\x1b[31mdemo-token\x1b[0m"), "{color}");
}

#[test]
fn json_is_the_documented_wire_format() {
    let v: serde_json::Value =
        serde_json::from_str(&rendered(Format::Json, &scan_like(), full())).unwrap();
    let a = &v[0];
    for (k, want) in [
        ("rule", serde_json::json!("demo-token")),
        ("description", serde_json::json!("Demo token")),
        ("tags", serde_json::json!(["demo"])),
        ("severity", serde_json::json!("error")),
        ("text", serde_json::json!("Demo token found")),
        ("file", serde_json::json!("bot/.env")),
        ("line", serde_json::json!(2)),
        ("column", serde_json::json!(15)),
        ("end_line", serde_json::json!(2)),
        ("end_column", serde_json::json!(51)),
        ("redacted", serde_json::json!(true)),
        ("fingerprint", serde_json::json!("bot/.env:demo-token:2")),
        (
            "hash",
            serde_json::json!("0123456789abcdef0123456789abcdef"),
        ),
        ("entropy", serde_json::json!(4.8312)),
    ] {
        assert_eq!(a[k], want, "{k}");
    }
    assert!(a.get("commit").is_none() && a.get("message").is_none());
    let b = &v[1];
    assert_eq!(b["commit"], "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
    assert_eq!(b["message"], "add config");
    assert_eq!(b["author"], "Alice");
    assert_eq!(b["decoded"], serde_json::json!(["base64", "gzip"]));
    assert_eq!(
        b["archive_path"],
        serde_json::json!(["dist.zip", "config/.env"])
    );
    let p: serde_json::Value =
        serde_json::from_str(&rendered(Format::Json, &problems_like(), full())).unwrap();
    assert_eq!(p[0].get("line"), None);
    assert_eq!(p[1]["key"], "DB_PASSWORD");
    assert_eq!(p[2]["scope"], "production");
    assert!(p[1].get("secret").is_none() && p[1].get("redacted").is_none());
    assert_eq!(
        rendered(Format::Json, &Report::new(Tool::new("scan", "0")), full()),
        "[]\n"
    );
}

#[test]
fn an_incomplete_run_says_so_in_json_and_csv() {
    let v: serde_json::Value =
        serde_json::from_str(&rendered(Format::Json, &incomplete(), full())).unwrap();
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), 2, "the finding, then the status");
    assert_eq!(a[1]["incomplete"], true);
    assert_eq!(a[1]["reasons"][0]["gap"], "unreadable");
    assert_eq!(a[1]["reasons"][0]["count"], 1);
    assert_eq!(a[1]["reasons"][1]["gap"], "truncated");
    assert_eq!(a[1]["skipped"]["unreadable"], 2);
    assert!(a[1].get("rule").is_none());
    let entries = crate::read::json(&rendered(Format::Json, &incomplete(), full())).unwrap();
    assert_eq!(entries.len(), 1, "readers pass over the status");
    let complete: serde_json::Value =
        serde_json::from_str(&rendered(Format::Json, &scan_like(), full())).unwrap();
    assert!(complete
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d.get("incomplete").is_none()));

    let csv = rendered(Format::Csv, &incomplete(), full());
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4, "{csv}");
    let cells = rows[0].split(',').count();
    assert_eq!(rows[2].split(',').count(), cells, "{csv}");
    assert!(rows[2].starts_with("incomplete,,"), "{csv}");
    assert!(
        rows[2].ends_with(",error,2 files could not be read,,,"),
        "{csv}"
    );
}

#[test]
fn archive_members_are_part_of_the_file_in_every_format() {
    let r = scan_like();
    let v: serde_json::Value = serde_json::from_str(&rendered(Format::Json, &r, full())).unwrap();
    assert_eq!(v[1]["file"], "dir with space/a|b.py!dist.zip!config/.env");
    let csv = rendered(Format::Csv, &r, full());
    assert!(
        csv.lines()
            .nth(2)
            .unwrap()
            .starts_with("demo-token,dir with space/a|b.py!dist.zip!config/.env,1,5,"),
        "{csv}"
    );
    let concise = rendered(Format::Text, &r, RenderOptions::default());
    assert!(
        concise.contains("dir with space/a|b.py!dist.zip!config/.env:1:5: Demo token found"),
        "{concise}"
    );
    let md = rendered(Format::Markdown, &r, full());
    assert!(
        md.contains("dist.zip!config/.env:1:5 @ 4b825dc642cb"),
        "{md}"
    );
    let v: serde_json::Value = serde_json::from_str(&rendered(Format::Sarif, &r, full())).unwrap();
    let res = &v["runs"][0]["results"][1];
    let loc = &res["locations"][0];
    assert_eq!(
        loc["physicalLocation"]["artifactLocation"]["uri"],
        "dir%20with%20space/a%7Cb.py"
    );
    assert!(loc["physicalLocation"].get("region").is_none());
    assert_eq!(
        loc["logicalLocations"][0]["fullyQualifiedName"],
        "dir with space/a|b.py!dist.zip!config/.env"
    );
    assert_eq!(
        res["properties"]["decoded"],
        serde_json::json!(["base64", "gzip"])
    );
}

#[test]
fn a_property_cannot_overwrite_a_wire_format_key() {
    let mut r = problems_like();
    r.diagnostics[1]
        .properties
        .insert("rule".into(), "forged".into());
    let v: serde_json::Value = serde_json::from_str(&rendered(Format::Json, &r, full())).unwrap();
    assert_eq!(v[1]["rule"], "weak");
}

#[test]
fn json_reads_back_as_typed_entries() {
    for show in [false, true] {
        let opts = RenderOptions {
            show_secrets: show,
            ..full()
        };
        let entries = crate::read::json(&rendered(Format::Json, &scan_like(), opts)).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[1].commit.as_deref(),
            Some("4b825dc642cb6eb9a060e54bf8d69288fbee4904")
        );
        match (show, entries[0].secret_state()) {
            (true, crate::read::SecretState::Clear(s)) => {
                assert!(s.ct_eq_bytes(fake_secret(1).as_bytes()))
            }
            (false, crate::read::SecretState::Redacted) => {}
            (_, other) => panic!("show {show}: {other:?}"),
        }
    }
}

#[test]
fn csv_has_a_fixed_header_and_quotes() {
    let csv = rendered(Format::Csv, &scan_like(), full());
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "rule,file,line,column,end_line,end_column,secret,entropy,fingerprint,hash,commit,description,severity,message,key,scope,decoded"
    );
    assert_eq!(
        lines.next().unwrap(),
        "demo-token,bot/.env,2,15,2,51,tok_…rwbg,4.831,bot/.env:demo-token:2,0123456789abcdef0123456789abcdef,,Demo token,error,Demo token found,,,"
    );
    let empty = rendered(
        Format::Csv,
        &Report {
            diagnostics: vec![],
            ..scan_like()
        },
        full(),
    );
    assert_eq!(empty.lines().count(), 1, "the header alone: {empty}");
    let p = rendered(Format::Csv, &problems_like(), full());
    assert!(
        p.lines()
            .nth(2)
            .unwrap()
            .starts_with("weak,.env.production,1,,,,,,,,"),
        "{p}"
    );
    assert!(p.lines().nth(2).unwrap().ends_with(",DB_PASSWORD,,"), "{p}");
}

#[test]
fn junit_counts_failures_and_errors() {
    insta::assert_snapshot!(rendered(Format::Junit, &incomplete(), full()), @r#"
    <?xml version="1.0" encoding="UTF-8"?>
    <testsuites name="vigil scan" tests="2" failures="1" errors="1">
      <testsuite name="vigil scan" tests="2" failures="1" errors="1" skipped="0">
        <testcase classname="demo-token" name="bot/.env:2:15">
          <failure message="Demo token found" type="demo-token">Demo token at bot/.env:2:15 secret tok_…rwbg fingerprint bot/.env:demo-token:2</failure>
        </testcase>
        <testcase classname="vigil.scan" name="complete run">
          <error message="incomplete: 2 files could not be read; an archive nests deeper than 8 levels" type="incomplete">2 files could not be read
    an archive nests deeper than 8 levels</error>
        </testcase>
      </testsuite>
    </testsuites>
    "#);
    let clean = rendered(
        Format::Junit,
        &Report::new(Tool::new("env check", "0")),
        full(),
    );
    assert!(
        clean.contains(r#"<testcase classname="vigil.env.check" name="no findings"/>"#),
        "{clean}"
    );
    assert!(
        clean.contains(r#"tests="1" failures="0" errors="0""#),
        "{clean}"
    );
}

#[test]
fn markdown_is_a_table_with_warnings() {
    insta::assert_snapshot!(rendered(Format::Markdown, &incomplete(), full()), @r"
    ### vigil scan: 1 finding(s)

    > **Incomplete:** 2 files could not be read; an archive nests deeper than 8 levels. Nothing here proves the rest clean.

    | Severity | Rule | Location | Message | Secret |
    | --- | --- | --- | --- | --- |
    | error | `demo-token` | `bot/.env:2:15` | Demo token found | `tok_…rwbg` |

    Skipped: 2 unreadable.
    ");
    let p = rendered(Format::Markdown, &problems_like(), full());
    assert!(
        p.contains("| warning | `tracked` | `.env` | .env is tracked by git |\n"),
        "{p}"
    );
    let mut r = scan_like();
    r.diagnostics[1].location = Location::file("a|b`c.py").at_line(1);
    r.diagnostics[1].archive_path.clear();
    let m = rendered(Format::Markdown, &r, full());
    assert!(m.contains("``a\\|b`c.py:1 @ 4b825dc642cb``"), "{m}");
}

#[test]
fn sarif_lists_every_rule_and_says_whether_the_run_was_complete() {
    let v: serde_json::Value =
        serde_json::from_str(&rendered(Format::Sarif, &scan_like(), full())).unwrap();
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(
        rules[0]["help"]["text"],
        "Rotate the token, then remove it from the code"
    );
    assert_eq!(
        rules[0]["properties"]["tags"],
        serde_json::json!(["security", "demo"])
    );
    assert_eq!(rules[0]["properties"]["security-severity"], "8.0");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results[0]["ruleIndex"], 0);
    assert_eq!(results[0]["message"]["text"], "Demo token found: tok_…rwbg");
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "dir%20with%20space/a%7Cb.py"
    );
    assert_eq!(
        results[1]["properties"]["commit"],
        "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    );
    assert!(results[1]["properties"].get("email").is_none());
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    assert_eq!(run["invocations"][0]["properties"]["skipped"]["ignored"], 3);
    let v: serde_json::Value =
        serde_json::from_str(&rendered(Format::Sarif, &incomplete(), full())).unwrap();
    let inv = &v["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert_eq!(
        inv["toolExecutionNotifications"][1]["descriptor"]["id"],
        "truncated"
    );
    let v: serde_json::Value =
        serde_json::from_str(&rendered(Format::Sarif, &problems_like(), full())).unwrap();
    let r = &v["runs"][0]["results"];
    assert!(r[0]["locations"][0]["physicalLocation"]
        .get("region")
        .is_none());
    assert_eq!(r[0]["level"], "warning");
    assert_eq!(
        r[2]["locations"][0]["logicalLocations"][0]["name"],
        "production"
    );
}

#[test]
fn secrets_are_masked_in_every_format_unless_asked() {
    let raw = [fake_secret(1), fake_secret(2)];
    for format in Format::ALL {
        for style in [TextStyle::Concise, TextStyle::Full] {
            let masked = rendered(
                format,
                &scan_like(),
                RenderOptions {
                    style,
                    ..RenderOptions::default()
                },
            );
            for s in &raw {
                assert!(
                    !masked.contains(&s[4..20]),
                    "{} leaked: {masked}",
                    format.name()
                );
            }
        }
        let shown = rendered(
            format,
            &scan_like(),
            RenderOptions {
                show_secrets: true,
                style: TextStyle::Full,
                ..RenderOptions::default()
            },
        );
        for s in &raw {
            assert!(
                shown.contains(s.as_str()),
                "{} must show secrets when asked",
                format.name()
            );
        }
    }
}

#[test]
fn saved_reports_with_secrets_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let masked = dir.join("masked.json");
    let shown = dir.join("new/shown.json");
    save(&masked, Format::Json, &scan_like(), &full()).unwrap();
    let opts = RenderOptions {
        show_secrets: true,
        ..full()
    };
    save(&shown, Format::Json, &scan_like(), &opts).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&shown), 0o600);
    assert_eq!(mode(shown.parent().unwrap()), 0o700);
    assert_ne!(
        mode(&masked) & 0o077,
        0o000,
        "a masked report keeps the usual mode"
    );
}

#[test]
fn the_decoding_is_named_in_every_format() {
    let r = scan_like();
    let text = rendered(Format::Text, &r, full());
    assert!(text.contains("decoded: base64 > gzip"), "{text}");
    let csv = rendered(Format::Csv, &r, full());
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].ends_with(",decoded"), "{csv}");
    assert!(rows[1].ends_with(",,"), "no decoding, empty cell: {csv}");
    assert!(rows[2].ends_with(",base64>gzip"), "{csv}");
    let junit = rendered(Format::Junit, &r, full());
    assert!(
        junit.contains(" decoded: base64 &gt; gzip</failure>"),
        "{junit}"
    );
    let md = rendered(Format::Markdown, &r, full());
    assert!(md.contains("(decoded: base64 > gzip)"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&rendered(Format::Json, &r, full())).unwrap();
    assert_eq!(json[1]["decoded"], serde_json::json!(["base64", "gzip"]));
    let sarif: serde_json::Value =
        serde_json::from_str(&rendered(Format::Sarif, &r, full())).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"][1]["properties"]["decoded"],
        serde_json::json!(["base64", "gzip"])
    );
}

#[test]
fn markdown_messages_cannot_open_markup() {
    let mut r = scan_like();
    r.diagnostics[0].message = "server `a` **b** [x](http://e) <b>hi</b>".into();
    let md = rendered(Format::Markdown, &r, full());
    assert!(
        md.contains(r"server \`a\` \*\*b\*\* \[x\](http://e) &lt;b>hi&lt;/b>"),
        "{md}"
    );
}

/// Control, bidi and zero-width characters in a name or message reach the Markdown report
/// escaped, as in the text report, and in JUnit (black-box tester, session 15 round 11: F10,
/// round 12: F12).
#[test]
fn markdown_escapes_controls_and_invisible_characters() {
    let mut r = scan_like();
    r.diagnostics[0].message = "server `x\u{202e}evil\u{200b}\u{1b}[31mred`".into();
    let md = rendered(Format::Markdown, &r, full());
    assert!(!md.contains(['\u{1b}', '\u{202e}', '\u{200b}']), "{md:?}");
    assert!(md.contains("u{202e}") && md.contains("u{1b}"), "{md}");
    // SARIF's message text too (round 13: F12).
    let sarif = rendered(Format::Sarif, &r, full());
    assert!(!sarif.contains(['\u{202e}', '\u{200b}']), "{sarif:?}");
    // JUnit too (round 12: F12), a line break in an attribute as a reference (round 13).
    r.diagnostics[0].message.push_str("\nline two");
    let xml = rendered(Format::Junit, &r, full());
    assert!(xml.contains("&#xa;line two"), "{xml}");
    assert!(!xml.contains(['\u{1b}', '\u{202e}', '\u{200b}']), "{xml:?}");
}
