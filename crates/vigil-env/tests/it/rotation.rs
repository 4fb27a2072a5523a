//! Property tests of rotation plans: across generated projects of several files, a rotation
//! changes exactly the targeted values (one new value everywhere, templates only to a
//! placeholder) and nothing else; a dual rotation moves each file's current value to previous;
//! across environments, each environment gets its own value, shared by all its services.

use proptest::prelude::*;
use std::path::PathBuf;
use vigil_env::generate::GenError;
use vigil_env::rotate::{plan_dual, plan_single, Loaded};
use vigil_env::{Document, EnvFile, EnvSection};

const TARGET: &str = "AUTH_TOKEN";

/// A monorepo's env files across three environments and their services.
const LAYOUT: &[&str] = &[
    ".env",
    ".env.local",
    ".env.bot",
    ".env.voice",
    "services/tts/.env",
    "services/bot/.env.service",
    ".env.prod",
    ".env.production.local",
    "prod.env",
    "services/bot/.env.prod",
    "deploy/production/.env",
    ".env.stage",
    ".env.staging",
    "services/voice/.env.staging",
];

fn other_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "# [ -~]{0,20}",
        ("[B-Z][A-Z0-9_]{0,8}", "[A-Za-z0-9_./:@-]{0,16}").prop_map(|(k, v)| format!("{k}={v}")),
        ("[B-Z][A-Z0-9_]{0,8}", "[A-Za-z0-9 #$=]{0,12}").prop_map(|(k, v)| format!("{k}='{v}'")),
        ("[B-Z][A-Z0-9_]{0,8}", "[a-z]{1,6}", "[a-z]{1,6}")
            .prop_map(|(k, a, b)| format!("{k}=\"{a}\n{b}\"")),
    ]
}

fn target_line() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        0..3u8,
        "[A-Za-z0-9]{20,40}",
        prop::option::of(" # [a-z]{1,8}"),
    )
        .prop_map(|(e, q, v, c)| {
            let v = match q {
                0 => v,
                1 => format!("'{v}'"),
                _ => format!("\"{v}\""),
            };
            format!(
                "{}{TARGET}={v}{}",
                if e { "export " } else { "" },
                c.unwrap_or_default()
            )
        })
}

fn env_file() -> impl Strategy<Value = (String, bool)> {
    (
        prop::collection::vec(other_line(), 0..6),
        prop::option::of(target_line()),
        prop::collection::vec(other_line(), 0..6),
        any::<bool>(),
    )
        .prop_map(|(a, t, b, crlf)| {
            let mut lines = a;
            let has = t.is_some();
            lines.extend(t);
            lines.extend(b);
            (lines.join(if crlf { "\r\n" } else { "\n" }), has)
        })
}

fn project() -> impl Strategy<Value = Vec<(String, bool)>> {
    prop::collection::vec(env_file(), 1..6)
}

fn load(files: &[(String, bool)]) -> Vec<Loaded> {
    files
        .iter()
        .enumerate()
        .map(|(i, (text, _))| Loaded {
            // The last file is a template.
            file: EnvFile::placed(PathBuf::from(if i + 1 == files.len() && i > 0 {
                "svc/.env.example".to_owned()
            } else {
                format!("svc{i}/.env.service")
            }))
            .expect("the model places every file"),
            doc: Document::parse(text).expect("generated files parse"),
        })
        .collect()
}

fn values(doc: &Document) -> Vec<(String, Option<String>)> {
    doc.bindings()
        .iter()
        .map(|b| (b.key.clone(), b.value.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn single_rotation_changes_exactly_the_target(files in project(), new in "[A-Za-z0-9]{32}") {
        let loaded = load(&files);
        let holders = loaded.iter().filter(|l| !l.file.template && l.doc.get(TARGET).is_some()).count();
        let section = EnvSection::default();
        let mut gen = |_: &str| Ok::<_, GenError>(new.clone());
        let plan = plan_single(&loaded, &[TARGET.to_owned()], &section, &mut gen);
        if holders == 0 {
            prop_assert!(plan.is_err());
            return Ok(());
        }
        let plan = plan.unwrap();
        for l in &loaded {
            let after = plan.files.iter().find(|f| f.file == l.file).map(|f| Document::parse(&f.new).unwrap());
            let after = after.unwrap_or_else(|| l.doc.clone());
            let want: Vec<_> = values(&l.doc)
                .into_iter()
                .map(|(k, v)| {
                    if k != TARGET || v.is_none() {
                        (k, v)
                    } else if l.file.template {
                        (k, Some("change-me".to_owned()))
                    } else {
                        (k, Some(new.clone()))
                    }
                })
                .collect();
            prop_assert_eq!(values(&after), want, "{}", l.file.path.display());
            if l.doc.get(TARGET).is_none() {
                prop_assert!(plan.files.iter().all(|f| f.file != l.file), "untouched file in the plan");
            }
        }
        prop_assert_eq!(plan.values[TARGET]["default"].expose_secret(), &new);
    }

    #[test]
    fn dual_rotation_moves_current_to_previous(files in project(), new in "[A-Za-z0-9]{32}") {
        let loaded = load(&files);
        let section = EnvSection::default();
        let mut gen = |_: &str| Ok::<_, GenError>(new.clone());
        let Ok(plan) = plan_dual(&loaded, &[TARGET.to_owned()], &section, &mut gen) else { return Ok(()) };
        for l in loaded.iter().filter(|l| !l.file.template) {
            let Some(old) = l.doc.get(TARGET) else { continue };
            let f = plan.files.iter().find(|f| f.file == l.file).expect("holder changed");
            let after = Document::parse(&f.new).unwrap();
            prop_assert_eq!(after.get(TARGET), Some(new.as_str()));
            prop_assert_eq!(after.get("AUTH_TOKEN_PREVIOUS"), Some(old));
            // Every other binding is as it was.
            let others = |d: &Document| values(d).into_iter().filter(|(k, _)| !k.starts_with(TARGET)).collect::<Vec<_>>();
            prop_assert_eq!(others(&after), others(&l.doc));
        }
    }

    #[test]
    fn each_environment_gets_one_value_shared_by_its_services(
        picks in prop::collection::vec((0..LAYOUT.len(), "[A-Za-z0-9]{24}"), 1..8)
    ) {
        let mut paths: Vec<&str> = picks.iter().map(|(i, _)| LAYOUT[*i]).collect();
        paths.sort();
        paths.dedup();
        let loaded: Vec<Loaded> = paths
            .iter()
            .zip(&picks)
            .map(|(p, (_, v))| Loaded {
                file: EnvFile::placed(PathBuf::from(p)).unwrap(),
                doc: Document::parse(&format!("{TARGET}={v}\n")).unwrap(),
            })
            .collect();
        let mut n = 0;
        let mut gen = |_: &str| {
            n += 1;
            Ok::<_, GenError>(format!("new{n:040}"))
        };
        let plan = plan_single(&loaded, &[TARGET.to_owned()], &EnvSection::default(), &mut gen).unwrap();
        let per_env = &plan.values[TARGET];
        let mut envs = std::collections::BTreeSet::new();
        for l in &loaded {
            let f = plan.files.iter().find(|f| f.file == l.file).expect("every holder changes");
            let got = Document::parse(&f.new).unwrap().get(TARGET).unwrap().to_owned();
            prop_assert_eq!(&got, per_env[&l.file.environment].expose_secret());
            envs.insert(l.file.environment.clone());
        }
        prop_assert_eq!(per_env.len(), envs.len());
        let distinct: std::collections::BTreeSet<&String> = per_env.values().map(|v| v.expose_secret()).collect();
        prop_assert_eq!(distinct.len(), envs.len(), "two environments never share a value");
    }
}
