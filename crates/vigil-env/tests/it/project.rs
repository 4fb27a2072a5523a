//! The library workflow the `vigil env` commands compose: settings → `Project::open` → a plan →
//! `Project::commit`; a project opened for reading can never commit, and writes nothing.

use std::path::Path;
use vigil_core::Config;
use vigil_env::generate::{charset, generate};
use vigil_env::project::CommitError;
use vigil_env::rotate::RotationRequest;
use vigil_env::status::State;
use vigil_env::{Access, Document, EnvSettings, Project};

fn value() -> String {
    generate(&charset("alnum").unwrap(), 48).unwrap()
}

fn settings(dir: &Path, toml: &str) -> EnvSettings {
    EnvSettings::resolve(&Config::parse(dir.join("vigil.toml"), toml.to_owned()).unwrap()).unwrap()
}

#[test]
fn open_plan_commit_check_status() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    let shared = value();
    for f in [".env", ".env.bot", ".env.prod"] {
        std::fs::write(d.join(f), format!("AUTH_TOKEN={shared}\nPORT=8080\n")).unwrap();
    }
    let s = settings(d, "[env]\ntokens = [\"AUTH_TOKEN\"]\n");

    // Read-only: a plan, but no commit, and nothing created.
    let ro = Project::open(s.clone(), Access::ReadOnly).unwrap();
    let dry = ro.plan_rotation(&RotationRequest::default()).unwrap();
    assert_eq!(dry.plan.files.len(), 3);
    assert!(matches!(
        ro.commit(&dry.plan, false),
        Err(CommitError::ReadOnly)
    ));
    assert!(
        !d.join(".vigil").exists(),
        "a read-only open writes nothing"
    );
    let codes: Vec<&str> = ro
        .check()
        .unwrap()
        .iter()
        .map(|p| p.code.as_str())
        .collect();
    assert!(codes.contains(&"shared_across_environments"), "{codes:?}");
    drop(ro);

    // Write: one value per environment, the same in every service of one.
    let rw = Project::open(s.clone(), Access::Write).unwrap();
    let rotation = rw
        .plan_rotation(&RotationRequest {
            length: Some(40),
            ..RotationRequest::default()
        })
        .unwrap();
    let shape = &rotation.shapes[0];
    assert_eq!(shape.name, "AUTH_TOKEN");
    assert_eq!(shape.length, 40);
    assert_eq!(shape.environments, ["default", "production"]);
    rw.commit(&rotation.plan, false).unwrap();
    let get = |f: &str| {
        let text = std::fs::read_to_string(d.join(f)).unwrap();
        let doc = Document::parse(&text).unwrap();
        assert_eq!(doc.get("PORT"), Some("8080"), "other bytes stay");
        doc.get("AUTH_TOKEN").unwrap().to_owned()
    };
    assert_eq!(get(".env"), get(".env.bot"));
    assert_ne!(get(".env"), get(".env.prod"));
    assert_ne!(get(".env"), shared);
    assert_eq!(get(".env").len(), 40);
    let ledger = std::fs::read_to_string(d.join(".vigil/rotation.toml")).unwrap();
    assert!(ledger.contains("[secrets.AUTH_TOKEN]") && !ledger.contains(&get(".env")));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Read again (the opened project keeps the files as they were read).
    drop(rw);
    let p = Project::open(s, Access::Recover).unwrap();
    let rows = p.status(now).unwrap();
    let row = rows.iter().find(|r| r.name == "AUTH_TOKEN").unwrap();
    assert_eq!((row.state, row.changed), (State::Ok, false));
    assert_eq!(
        serde_json::to_value(row).unwrap()["state"],
        "ok",
        "the serialized name stays"
    );
    // Thirty-one days on, the monthly default makes it overdue.
    let later = p.status(now + 31 * 86_400).unwrap();
    assert_eq!(
        later.iter().find(|r| r.name == "AUTH_TOKEN").unwrap().state,
        State::Overdue
    );
}

#[test]
fn nothing_to_rotate_and_bad_lengths_say_so() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    std::fs::write(d.join(".env"), format!("AUTH_TOKEN={}\n", value())).unwrap();
    let p = Project::open(settings(d, ""), Access::ReadOnly).unwrap();
    let e = p.plan_rotation(&RotationRequest::default()).unwrap_err();
    assert!(e.to_string().starts_with("say what to rotate"), "{e}");
    let e = p
        .plan_rotation(&RotationRequest {
            tokens: vec!["AUTH_TOKEN".into()],
            length: Some(8),
            ..RotationRequest::default()
        })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "--length: 8 is outside 16..=4096 (48 or more is recommended)"
    );
}
