//! Property tests: generated .env files with every construct (comments, blank lines, `export`,
//! all quote styles, escapes, multi-line values, `${VAR}`, CRLF, no final newline, BOM)
//! round-trip byte for byte, and `set` changes exactly the targeted values and nothing else.

use proptest::prelude::*;
use vigil_env::Document;

fn key() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9_]{0,12}"
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "# [ -~]{0,30}".prop_map(|s| s),
        "[ \t]{0,3}".prop_map(|s| s),
        (
            any::<bool>(),
            key(),
            "[A-Za-z0-9_./:@${}-]{0,24}",
            prop::option::of(" # [a-z ]{0,10}")
        )
            .prop_map(|(e, k, v, c)| format!(
                "{}{k}={v}{}",
                if e { "export " } else { "" },
                c.unwrap_or_default()
            )),
        (key(), "[A-Za-z0-9 #$={}\"]{0,20}").prop_map(|(k, v)| format!("{k}='{}'", v)),
        (
            key(),
            "[A-Za-z0-9 #'$={}]{0,20}",
            prop::option::of("\\\\[ntr\"\\\\]")
        )
            .prop_map(|(k, v, esc)| format!("{k}=\"{v}{}\"", esc.unwrap_or_default())),
        (key(), "[a-z]{1,8}", "[a-z]{1,8}").prop_map(|(k, a, b)| format!("{k}=\"{a}\n{b}\"")),
    ]
}

fn file() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(line(), 0..12),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_nl, bom)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            s.push_str(&lines.join(eol));
            if final_nl && !lines.is_empty() {
                s.push_str(eol);
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn untouched_files_round_trip_byte_for_byte(text in file()) {
        let d = Document::parse(&text).expect("generated files parse");
        prop_assert_eq!(d.to_string(), text);
    }

    #[test]
    fn set_changes_exactly_the_target(text in file(), new in "[A-Za-z0-9]{32}") {
        let d = Document::parse(&text).expect("parses");
        let Some(target) = d.bindings().iter().find(|b| b.value.is_some()).map(|b| b.key.clone()) else { return Ok(()) };
        let mut edited = d.clone();
        edited.set(&target, &new).unwrap();
        let re = Document::parse(&edited.to_string()).expect("edited file parses");
        prop_assert_eq!(re.bindings().len(), d.bindings().len());
        for (before, after) in d.bindings().iter().zip(re.bindings()) {
            prop_assert_eq!(&before.key, &after.key);
            prop_assert_eq!(before.export, after.export);
            if before.key == target {
                prop_assert_eq!(after.value.as_deref(), Some(new.as_str()));
            } else {
                prop_assert_eq!(&before.value, &after.value);
            }
        }
        // Outside the edited value tokens every byte is the same, except one space that keeps a
        // newly filled empty value apart from a comment right after it (`A= # note`).
        let strip = |doc: &Document, pad_empty: bool| {
            let t = doc.to_string();
            let mut out = String::new();
            let mut at = 0;
            for b in doc.bindings().iter().filter(|b| b.key == target) {
                out.push_str(&t[at..b.value_span.start]);
                let next = t.as_bytes().get(b.value_span.end);
                if pad_empty && b.value_span.is_empty() && next.is_some_and(|c| !c.is_ascii_whitespace()) {
                    out.push(' ');
                }
                at = b.value_span.end;
            }
            out.push_str(&t[at..]);
            out
        };
        prop_assert_eq!(strip(&d, true), strip(&re, false));
    }
}
