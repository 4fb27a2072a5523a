//! Property: every secret `vigil env rotate` generates with its defaults passes Vigil's own
//! checks. 10,000 fresh values of each kind (signing secret, webhook secret, password, token),
//! each judged by `token check-config`'s strength rule (as the production JWT secret) and by
//! `env check` (weak, short, placeholder, known default).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use vigil_core::Secret;
use vigil_env::generate::{Generator, Kind};
use vigil_env::rotate::Loaded;
use vigil_env::{Document, EnvFile, EnvSection};
use vigil_token::compliance::{self, Environment};
use vigil_token::TokenSection;

const N: usize = 10_000;

fn name_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Signing => "MCP_JWT_SECRET",
        Kind::Webhook => "WEBHOOK_SECRET_DEFAULT",
        Kind::Password => "DB_PASSWORD",
        Kind::Token => "ORCH_AUTH_TOKEN",
    }
}

#[test]
#[allow(clippy::print_stderr)] // The margin each kind keeps, for whoever reads the test log.
fn ten_thousand_default_secrets_of_each_kind_pass_check_config_and_env_check() {
    let generator = Generator::new(None, None, "change-me");
    let token_section = TokenSection::default();
    let root = tempfile::TempDir::new().unwrap();
    for kind in Kind::ALL {
        let name = name_of(kind);
        assert_eq!(Kind::of(name), kind);
        let mut seen = HashSet::new();
        let mut text = String::new();
        let mut shortest = usize::MAX;
        let mut weakest = f64::MAX;
        for i in 0..N {
            let v = generator.value(name).expect("a default value");
            shortest = shortest.min(v.len());
            weakest = weakest.min(vigil_core::strength::estimate_bits(&v));
            // check-config's rule, with the value as the production signing secret.
            let mut vars = BTreeMap::new();
            vars.insert(
                token_section.secret_env().to_owned(),
                Secret::new(v.clone()),
            );
            let problems = compliance::check(
                &[Environment {
                    name: "production".into(),
                    origin: ".env.production".into(),
                    production: true,
                    vars,
                    earlier: Vec::new(),
                }],
                &token_section,
            );
            assert!(
                problems.is_empty(),
                "{kind:?} value #{i} fails check-config: {:?}",
                problems.iter().map(|p| p.code).collect::<Vec<_>>()
            );
            text.push_str(&format!("{name}_{i}={v}\n"));
            assert!(seen.insert(v), "{kind:?}: a value came twice");
        }
        // env check's rules, over all of them at once.
        let loaded = Loaded {
            file: EnvFile::placed(PathBuf::from(".env.production")).unwrap(),
            doc: Document::parse(&text).unwrap(),
        };
        let problems = vigil_env::check::check(root.path(), &[loaded], &EnvSection::default(), &[]);
        assert!(
            problems.is_empty(),
            "{kind:?}: env check flags {} value(s), e.g. {:?}",
            problems.len(),
            problems.first().map(|p| (&p.code, &p.key))
        );
        eprintln!("{kind:?}: shortest {shortest} characters, weakest {weakest:.0} bits");
        // Every draw clears the signing floor: the generator redraws the rare one (no digit and a
        // keyboard walk, about one in ten thousand) that would not. A margin over it is chance,
        // not a promise, so it is printed above, never asserted (session 16's CI drew a password
        // at 254 bits).
        let floor = kind.floor().0.max(compliance::MIN_SECRET_BITS);
        assert!(
            weakest >= floor,
            "{kind:?}: weakest value scored {weakest:.0} bits (floor {floor:.0})"
        );
        assert!(shortest >= kind.default_length());
        if kind == Kind::Signing {
            assert!(shortest >= 48, "HS256 secrets: 48 characters or more");
        }
    }
}
