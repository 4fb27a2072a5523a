//! External validators and fixtures the tests fetch once and cache under target/: a Python with
//! a module (from PyPI when the system one lacks it), a folder of a PyPI wheel, and the official
//! SARIF 2.1.0 schema (from npm). Shared by the `vigil` CLI tests and `vigil-report`'s SARIF
//! schema test (by `#[path]`).

use std::path::{Path, PathBuf};

/// The cache folder under target/ that every fetched dependency goes into.
pub(crate) fn test_deps() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-deps");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The Python of the test venv under target/ (created on first use), which has pip.
fn venv_python() -> PathBuf {
    let venv = test_deps().join("venv");
    let py = venv.join("bin/python");
    if !py.exists() {
        let s = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(s.success(), "python3 -m venv failed");
    }
    py
}

/// A Python interpreter that has `module` (installing `package` into a venv under target/ from
/// PyPI when the system one lacks it).
pub(crate) fn python_with(module: &str, package: &str) -> PathBuf {
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
    // Tests run in parallel: one venv creation and one pip install at a time.
    let lock = std::fs::File::create(test_deps().join("venv.lock")).unwrap();
    lock.lock().unwrap();
    let py = venv_python();
    if !ok(&py) {
        let s = std::process::Command::new(&py)
            .args(["-m", "pip", "install", "-q", package])
            .status()
            .unwrap();
        assert!(s.success(), "pip install {package} failed");
    }
    py
}

/// The folder `member` (e.g. `cryptography_vectors/fernet`) of a wheel from PyPI, fetched once
/// with `pip download --no-deps` and unpacked (that folder only) under target/.
pub(crate) fn wheel_folder(requirement: &str, member: &str) -> PathBuf {
    let root = test_deps()
        .join("wheels")
        .join(requirement.replace(['=', '<', '>'], "_"));
    let out = root.join(member);
    let lock = std::fs::File::create(test_deps().join("venv.lock")).unwrap();
    lock.lock().unwrap();
    if !out.is_dir() {
        let py = venv_python();
        let s = std::process::Command::new(&py)
            .args(["-m", "pip", "download", "-q", "--no-deps", "-d"])
            .arg(&root)
            .arg(requirement)
            .status()
            .unwrap();
        assert!(s.success(), "pip download {requirement} failed");
        let s = std::process::Command::new(&py)
            .args([
                "-c",
                "import glob, sys, zipfile\n\
                 z = zipfile.ZipFile(glob.glob(sys.argv[1] + '/*.whl')[0])\n\
                 [z.extract(n, sys.argv[1]) for n in z.namelist() if n.startswith(sys.argv[2] + '/')]",
            ])
            .arg(&root)
            .arg(member)
            .status()
            .unwrap();
        assert!(s.success(), "unpacking {member} failed");
    }
    assert!(out.is_dir(), "{} missing", out.display());
    out
}

/// The official SARIF 2.1.0 JSON schema, as shipped in the npm package @microsoft/jest-sarif.
pub(crate) fn sarif_schema() -> PathBuf {
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
