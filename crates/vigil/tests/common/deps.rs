//! External validators the tests fetch once and cache under target/: a Python with a module
//! (from PyPI when the system one lacks it), and the official SARIF 2.1.0 schema (from npm).
//! Shared by the `vigil` CLI tests and `vigil-report`'s SARIF schema test (by `#[path]`).

use std::path::{Path, PathBuf};

pub fn test_deps() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-deps");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A Python interpreter that has `module` (installing `package` into a venv under target/ from
/// PyPI when the system one lacks it).
pub fn python_with(module: &str, package: &str) -> PathBuf {
    let sys = PathBuf::from("python3");
    let ok = |py: &Path| {
        std::process::Command::new(py)
            .args(["-c", &format!("import {module}")])
            .status()
            .is_ok_and(|s| s.success())
    };
    if ok(&sys) {
        return sys;
    }
    let venv = test_deps().join("venv");
    let py = venv.join("bin/python");
    // Tests run in parallel: one venv creation and one pip install at a time.
    let lock = std::fs::File::create(test_deps().join("venv.lock")).unwrap();
    lock.lock().unwrap();
    if !py.exists() {
        let s = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(s.success(), "python3 -m venv failed");
    }
    if !ok(&py) {
        let s = std::process::Command::new(&py)
            .args(["-m", "pip", "install", "-q", package])
            .status()
            .unwrap();
        assert!(s.success(), "pip install {package} failed");
    }
    py
}

/// The official SARIF 2.1.0 JSON schema, as shipped in the npm package @microsoft/jest-sarif.
pub fn sarif_schema() -> PathBuf {
    let dir = test_deps().join("sarif");
    let schema = dir.join("package/lib/schemas/sarif-2.1.0-rtm.5.json");
    if !schema.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let out = std::process::Command::new("npm")
            .args([
                "pack",
                "@microsoft/jest-sarif@1.0.0-beta.0",
                "--silent",
                "--pack-destination",
            ])
            .arg(&dir)
            .output()
            .expect("npm is installed");
        assert!(
            out.status.success(),
            "npm pack failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s = std::process::Command::new("tar")
            .arg("xzf")
            .arg(dir.join("microsoft-jest-sarif-1.0.0-beta.0.tgz"))
            .arg("-C")
            .arg(&dir)
            .status()
            .unwrap();
        assert!(s.success());
    }
    assert!(schema.exists(), "schema missing at {}", schema.display());
    schema
}
