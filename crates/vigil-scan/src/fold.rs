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
use regex_syntax::hir::literal::{ExtractKind, Extractor};
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

/// How a pattern's matches begin, read once from its parsed form (for [`anchors`] and
/// [`start_literals`]): the literals every match begins with (ASCII-lowercased for a `(?i)`
/// pattern with an exact twin), and whether a match may begin with a look-around (`\b`, `^`:
/// it reads the byte before). `None` when there is no finite set of such literals, one of them
/// is empty, or the pattern's case folding is not ASCII's.
pub(crate) struct Starts {
    literals: Vec<Vec<u8>>,
    looks_behind: bool,
}

impl Starts {
    /// The starts of `pattern`.
    pub(crate) fn of(pattern: &str) -> Option<Starts> {
        let body = pattern.strip_prefix("(?i)").unwrap_or(pattern);
        // A flag group could switch case folding (or anything else) on part of the pattern.
        if body.replace("(?:", "").contains("(?") {
            return None;
        }
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(body)
            .ok()?;
        if body.len() != pattern.len() && !closed(&hir) {
            return None;
        }
        let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
        let literals: Vec<Vec<u8>> = seq
            .literals()?
            .iter()
            .map(|l| l.as_bytes().to_vec())
            .collect();
        if literals.is_empty() || literals.iter().any(Vec::is_empty) {
            return None;
        }
        Some(Starts {
            literals,
            looks_behind: !hir.properties().look_set_prefix_any().is_empty(),
        })
    }
}

/// Where a match may begin besides where one of `keywords` does: the literals a match can
/// begin with ([`Starts`]) that no keyword begins, each of at least three bytes and at most
/// [`MAX_ANCHORS`] of them; `None` when a match may begin with a look-around. Found as keywords
/// that only mark a place (`Trigger::anchor`), they let a rule read a line from the first place
/// a match can begin instead of from the line's start, with the same matches (`engine.rs`),
/// while the rule still runs only on lines holding one of its own keywords.
pub(crate) fn anchors(starts: &Starts, keywords: &[String]) -> Option<Vec<String>> {
    if starts.looks_behind {
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    for b in &starts.literals {
        let covered = keywords.iter().any(|k| {
            !k.is_empty() && b.len() >= k.len() && b[..k.len()].eq_ignore_ascii_case(k.as_bytes())
        });
        if covered {
            continue;
        }
        if b.len() < 3 {
            return None;
        }
        out.push(String::from_utf8_lossy(b).to_ascii_lowercase());
    }
    out.sort();
    out.dedup();
    // A literal that begins with another is found where that one is.
    let all = out.clone();
    out.retain(|a| !all.iter().any(|b| b != a && a.starts_with(b.as_str())));
    (out.len() <= MAX_ANCHORS).then_some(out)
}

/// The most places besides its keywords a rule read from where a match can begin may have
/// (each is one more pattern in the keyword search).
pub(crate) const MAX_ANCHORS: usize = 16;

/// The literals every match begins with ([`Starts`], ASCII case ignored), as a search: a
/// window that holds none of them holds no match, as written or in its escape view. `None` when
/// a literal's head holds a space, or there are too many to search at once.
pub(crate) fn start_literals(starts: &Starts) -> Option<aho_corasick::packed::Searcher> {
    let lits = &starts.literals;
    // The first four bytes of each literal (a match begins with them too) in every ASCII
    // case, for a SIMD search of at most 64 short patterns (an ASCII-case-insensitive
    // automaton walks every byte: slower than the rule itself).
    let mut heads: Vec<&[u8]> = lits.iter().map(|l| &l[..l.len().min(4)]).collect();
    heads.sort_unstable();
    heads.dedup();
    // The escape view blanks escapes to spaces: a literal without one is in a view's window
    // only where it is in the window as written.
    if heads.iter().any(|h| h.contains(&b' ')) {
        return None;
    }
    let mut all: Vec<Vec<u8>> = Vec::new();
    for l in heads {
        let mut forms = vec![Vec::with_capacity(l.len())];
        for &b in l {
            let (lo, up) = (b.to_ascii_lowercase(), b.to_ascii_uppercase());
            if lo == up {
                forms.iter_mut().for_each(|f| f.push(b));
            } else {
                forms = forms
                    .into_iter()
                    .flat_map(|f| {
                        let mut g = f.clone();
                        g.push(up);
                        let mut f = f;
                        f.push(lo);
                        [f, g]
                    })
                    .collect();
            }
            if all.len() + forms.len() > 64 {
                return None;
            }
        }
        all.extend(forms);
    }
    all.sort();
    all.dedup();
    let mut builder = aho_corasick::packed::Config::new().builder();
    builder.extend(&all);
    builder.build()
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

    /// [`super::anchors`] of a pattern.
    fn anchors(pattern: &str, keywords: &[String]) -> Option<Vec<String>> {
        Starts::of(pattern).and_then(|s| super::anchors(&s, keywords))
    }

    /// [`super::start_literals`] of a pattern.
    fn start_literals(pattern: &str) -> Option<aho_corasick::packed::Searcher> {
        Starts::of(pattern).and_then(|s| super::start_literals(&s))
    }

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

    #[test]
    fn rules_start_where_a_keyword_or_an_anchor_is() {
        let kws = |k: &[&str]| k.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
        let builtin = crate::Ruleset::builtin();
        let generic = builtin.get("generic-api-key").expect("generic rule");
        assert!(
            generic.from_keyword,
            "a generic match begins at a keyword or an anchor"
        );
        // Its pattern begins with `private_key` and `auth-key` too, which are no keyword of it:
        // anchors, so the rule still runs only on lines with one of its own keywords.
        let a = anchors(&generic_pattern(), &generic.spec.keywords).expect("finite");
        for want in [
            "private_key",
            "private-key",
            "privatekey",
            "auth-key",
            "access.key",
        ] {
            assert!(a.iter().any(|x| x == want), "{want} in {a:?}");
        }
        assert!(!generic
            .spec
            .keywords
            .iter()
            .any(|k| k.starts_with("private")));
        assert_eq!(
            anchors(r"(?i)ghp_[A-Za-z0-9]{36}", &kws(&["ghp_"])),
            Some(vec![])
        );
        assert_eq!(anchors(r"xoxb-[0-9]{10}", &kws(&["XOXB-"])), Some(vec![]));
        assert_eq!(
            anchors(r"(?i)(?:my)?token=\w+", &kws(&["token"])),
            Some(vec!["mytoken=".to_owned()])
        );
        for (pattern, k) in [
            (r"(?i)\bname\s*:\s*token", &["name"][..]), // reads the byte before the match
            (r"^token=\w+", &["token"]),                // so does `^`
            (r"(?i)(?:a|token)\w+", &["token"]),        // `a` is too short to look for
            (r"\w+token", &["token"]),                  // no literal to begin with
            (r"(?i)TOKEN=\w+", &["token"]),             // no exact twin
            (r"(?i)to(?-i)ken", &["token"]),            // a flag group
        ] {
            assert!(anchors(pattern, &kws(k)).is_none(), "{pattern}");
        }
    }

    #[test]
    fn a_window_without_the_literals_a_match_begins_with_is_not_run() {
        let g = start_literals(r"(?i)\bname[ \t]*:[ \t]*value").expect("one literal");
        assert!(g.find(b"- NAME: value").is_some());
        assert!(g.find(b"secret: token value").is_none());
        // `ab0`…`cd9` in every case are too many to search at once; `ab-`, `cd-` are not.
        assert!(start_literals(r"(?i)(?:ab|cd)\d+").is_none());
        assert!(start_literals(r"(?i)(?:ab|cd)-x").is_some());
        // A match of `x?token` begins with `xtok` or with `toke`.
        let g = start_literals(r"(?i)x?token").expect("two literals");
        assert!(g.find(b"XTOK").is_some() && g.find(b"ToKeN").is_some());
        assert!(g.find(b"tok en").is_none());
        for none in [
            r"\w+token",
            r"(?i)TOKEN",
            r"(?i).*token",
            r"(?i)to(?-i)ken",
            r"a b",
        ] {
            assert!(start_literals(none).is_none(), "{none}");
        }
        let builtin = crate::Ruleset::builtin();
        let nv = builtin.get("name-value-secret").expect("rule");
        assert!(
            nv.starts.is_some(),
            "the name/value rule begins with `name`"
        );
    }

    /// The built-in rules as they run, and the same rules each reading whole lines and run on
    /// every window: hits (as written and in the escape view) at the same offsets.
    fn same_hits(line: &str) -> Result<usize, TestCaseError> {
        thread_local! {
            static RULES: (crate::Ruleset, crate::Ruleset) = {
                let on = crate::Ruleset::builtin();
                let mut off = on.clone();
                off.rules.iter_mut().for_each(|r| {
                    r.from_keyword = false;
                    r.starts = None;
                });
                (on, off)
            };
        }
        // The hits as written, and the escape view's that are not among them (a view's hit
        // equal to one as written is the same secret at the same place to every reader).
        let flat = |(a, b): (Vec<crate::engine::Hit>, Vec<crate::engine::Hit>)| {
            let f = |v: Vec<crate::engine::Hit>| -> Vec<(u32, usize, usize, usize, usize)> {
                v.iter()
                    .map(|h| (h.rule, h.start, h.end, h.m_start, h.m_end))
                    .collect()
            };
            let plain = f(a);
            let mut viewed: Vec<_> = f(b).into_iter().filter(|h| !plain.contains(h)).collect();
            viewed.sort_unstable();
            viewed.dedup();
            (plain, viewed)
        };
        RULES.with(|(on, off)| {
            let mut n = 0;
            for path in ["x.py", "config.json"] {
                let want = flat(off.hits_in(path, None, line.as_bytes(), true));
                n += want.0.len() + want.1.len();
                prop_assert_eq!(flat(on.hits_in(path, None, line.as_bytes(), true)), want);
            }
            Ok(n)
        })
    }

    #[test]
    fn a_rule_read_from_its_keyword_finds_what_the_whole_line_holds() {
        // A value of high entropy, built here so that this file holds none.
        let v: String = ["Zq8v", "R2mK", "4pL9", "sT6w"].concat();
        let mut found = 0;
        for line in [
            format!("x = 1; private_key = '{v}' # token: {v}X"),
            format!("{{\"text\":\"# a\\n\\\"api_key\\\": \\\"{v}\\\"\"}}"),
            format!("secrets are here: token={v}, secret_token=\\n{v}"),
            format!("a\\nauth.key={v};\\tpassword=\\\"{v}\\\""),
        ] {
            found += same_hits(&line).expect("same hits");
        }
        assert!(
            found >= 4,
            "the lines hold secrets the rules find ({found})"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// Lines of keywords, names, operators, escapes and values: the same hits whether a
        /// rule reads its lines from their first keyword or whole.
        #[test]
        fn reading_from_the_keyword_changes_no_hit(parts in proptest::collection::vec(prop_oneof![
            Just("SECRET".to_owned()), Just("Token".to_owned()), Just("pAsSwOrD".to_owned()), Just("_PASS".to_owned()),
            Just("Api-Key".to_owned()), Just("access.KEY".to_owned()), Just("Auth_Key".to_owned()), Just("authkey".to_owned()),
            Just("credentials".to_owned()), Just("Private-Key".to_owned()), Just("private_key".to_owned()), Just("name".to_owned()),
            Just("value".to_owned()), Just("_".to_owned()), Just("=".to_owned()), Just(":".to_owned()), Just("=>".to_owned()),
            Just(" ".to_owned()), Just("\"".to_owned()), Just("'".to_owned()), Just(";".to_owned()), Just(",".to_owned()),
            Just("\\n".to_owned()), Just("\\\"".to_owned()), Just("\\t".to_owned()), Just("%3D".to_owned()),
            Just("\n".to_owned()), Just("ghp_".to_owned()),
            "[A-Za-z0-9+/=!@#%^&*$~]{1,24}",
        ], 1..24)) {
            same_hits(&parts.concat())?;
        }
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
