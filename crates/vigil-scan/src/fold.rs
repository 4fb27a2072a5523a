//! A case-insensitive rule run as its case-sensitive twin over ASCII-lowercased text, when the
//! two find the same matches at the same offsets: a `(?i)` alternation of words defeats the regex
//! crate's literal prefilter (every letter doubles the literals), while its lowercase twin keeps
//! it, so the generic rule scans a long line about four times faster.
//!
//! The twin exists only when that is exact. The rule is `(?i)` followed by a pattern with no
//! other flag group, built ASCII-only (as [`crate::ruleset::build_regex`] builds it), whose
//! literals hold no uppercase ASCII letter and whose classes hold each ASCII letter in both
//! cases or in neither. Then an ASCII letter matches in the rule exactly when its lowercase
//! matches in the twin, every other byte is the same in both texts, and lowercasing keeps every
//! offset.

use regex::bytes::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};

/// The case-sensitive twin of `pattern`, when it has one (see the module's comment).
pub(crate) fn twin(pattern: &str) -> Option<Regex> {
    let rest = pattern.strip_prefix("(?i)")?;
    // Any other group with flags (`(?-i)`, `(?u)`, `(?x)`), or a `(?` that only looks like
    // one (`\(?`): no twin, rather than a wrong one.
    if rest.replace("(?:", "").contains("(?") {
        return None;
    }
    // The rule itself must be the ASCII-only build (a rule that needed Unicode folds `ſ`
    // and `K` too): its pattern parses ASCII-only, as `build_regex` then builds it.
    let ascii = || {
        regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
    };
    ascii().parse(pattern).ok()?;
    let hir = ascii().parse(rest).ok()?;
    if !closed(&hir) {
        return None;
    }
    crate::ruleset::ascii_regex(rest).ok()
}

/// Whether every literal of `hir` is free of uppercase ASCII letters and every class holds
/// each ASCII letter in both cases or in neither.
fn closed(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(l) => !l.0.iter().any(u8::is_ascii_uppercase),
        HirKind::Class(Class::Bytes(c)) => (b'a'..=b'z').all(|b| {
            let has = |x: u8| c.ranges().iter().any(|r| r.start() <= x && x <= r.end());
            has(b) == has(b.to_ascii_uppercase())
        }),
        HirKind::Class(Class::Unicode(c)) => ('a'..='z').all(|ch| {
            let has = |x: char| c.ranges().iter().any(|r| r.start() <= x && x <= r.end());
            has(ch) == has(ch.to_ascii_uppercase())
        }),
        HirKind::Repetition(r) => closed(&r.sub),
        HirKind::Capture(c) => closed(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().all(closed),
    }
}

/// `hay` lowercased (ASCII letters only) into `out`, which is cleared first.
pub(crate) fn lower_into(hay: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(hay.iter().map(u8::to_ascii_lowercase));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex::bytes::RegexBuilder;

    const GENERIC: &str = include_str!("../rules/generic.toml");

    /// The generic rule's pattern, as the rule file writes it.
    fn generic_pattern() -> String {
        let start = GENERIC.find("regex = '''").expect("regex") + "regex = '''".len();
        let len = GENERIC[start..].find("'''").expect("end");
        GENERIC[start..start + len].to_owned()
    }

    #[test]
    fn twins_only_where_they_match_alike() {
        assert!(
            twin(&generic_pattern()).is_some(),
            "the generic rule has a twin"
        );
        assert!(twin(r"(?i)token[A-Za-z0-9_]{8}").is_some());
        for no in [
            r"token[a-z]{8}",         // case-sensitive already
            r"(?i)TOKEN",             // an uppercase literal
            r"(?i)token[0-9a-f]{40}", // a class with one case only
            r"(?i)token[^A-Z]",       // negated: (?i) takes lowercase out too
            r"(?i)tok(?-i)en",        // a part that is case-sensitive
            r"(?i)tok\(?en",          // looks like a flag group: refused, not guessed
            r"(?i)\x41b",             // an uppercase letter written as an escape
        ] {
            assert!(twin(no).is_none(), "{no} has no exact twin");
        }
    }

    /// All (start, end) of every match and capture of `re` in `hay`, as `run_rule` walks them.
    fn walk(re: &Regex, hay: &[u8]) -> Vec<Option<(usize, usize)>> {
        let mut locs = re.capture_locations();
        let mut out = Vec::new();
        let mut at = 0;
        while at <= hay.len() {
            let Some(m) = re.captures_read_at(&mut locs, hay, at) else {
                break;
            };
            at = if m.end() > m.start() {
                m.end()
            } else {
                m.end() + 1
            };
            out.extend((0..locs.len()).map(|g| locs.get(g)));
        }
        out
    }

    #[test]
    fn the_twin_finds_what_the_rule_finds() {
        let pattern = generic_pattern();
        let rule = RegexBuilder::new(&pattern)
            .unicode(false)
            .build()
            .expect("rule");
        let twin = twin(&pattern).expect("twin");
        let line = "x = 1; API_Key = 'AbCdEfGhIjKlMn0123' # Secret: QwErTy0987654321zz";
        let mut lowered = Vec::new();
        lower_into(line.as_bytes(), &mut lowered);
        let found = walk(&rule, line.as_bytes());
        assert_eq!(found.len(), 4, "two matches, two groups each");
        assert_eq!(found, walk(&twin, &lowered));
        let builtin = crate::Ruleset::builtin();
        let twins: Vec<&str> = builtin
            .rules
            .iter()
            .filter(|r| r.twin.is_some())
            .map(|r| r.id.as_str())
            .collect();
        assert!(twins.contains(&"generic-api-key"), "{twins:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Lines made of the rule's own words in any case, operators, quotes, values and bytes
        /// past ASCII: the rule and its twin over the lowercased line agree on every offset.
        #[test]
        fn generic_twin_matches_as_the_rule(parts in proptest::collection::vec(prop_oneof![
            Just("SECRET".to_owned()), Just("Token".to_owned()), Just("pAsSwOrD".to_owned()), Just("passwd".to_owned()), Just("PWD".to_owned()), Just("_PASS".to_owned()),
            Just("Api-Key".to_owned()), Just("APIKEY".to_owned()), Just("access.KEY".to_owned()), Just("Auth_Key".to_owned()), Just("credentials".to_owned()),
            Just("Private-Key".to_owned()), Just("_".to_owned()), Just("-".to_owned()), Just(".".to_owned()), Just("=".to_owned()), Just(":".to_owned()), Just(":=".to_owned()),
            Just("=>".to_owned()), Just("||".to_owned()), Just(" ".to_owned()), Just("\t".to_owned()), Just("\"".to_owned()), Just("'".to_owned()), Just("`".to_owned()), Just(";".to_owned()),
            Just(",".to_owned()), Just(")".to_owned()), Just("\n".to_owned()), Just("é".to_owned()), Just("\u{17f}".to_owned()), Just("\u{212a}".to_owned()),
            "[A-Za-z0-9+/=!@#%^&*$~]{1,24}",
        ], 1..24)) {
            let pattern = generic_pattern();
            let rule = RegexBuilder::new(&pattern).unicode(false).build().expect("rule");
            let twin = twin(&pattern).expect("twin");
            let line = parts.concat();
            let mut lowered = Vec::new();
            lower_into(line.as_bytes(), &mut lowered);
            prop_assert_eq!(walk(&rule, line.as_bytes()), walk(&twin, &lowered));
        }
    }
}
