//! `vigil scan` names files as the user named the paths (ripgrep's model), through the real
//! binary: several roots, `../` roots and absolute ones, SARIF relative to the source root,
//! ignore files that apply only under their own folder, baselines usable from a subfolder,
//! names that are not UTF-8, symbolic links counted, and a missing path as one line.

use crate::common;

use common::*;
use std::path::Path;
use tempfile::TempDir;

fn ghp(seed: u64) -> String {
    token("«ghp_{alnum:30}{ghcrc}»", seed)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `(file, fingerprint)` of every finding of a JSON report, sorted.
fn places(v: &serde_json::Value) -> Vec<(String, String)> {
    let mut p: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("file").is_some())
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["fingerprint"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    p.sort();
    p
}

fn pair(file: &str) -> (String, String) {
    (file.to_owned(), format!("{file}:github-pat:1"))
}

/// Two folders, each with a `.env` holding a token.
fn two_roots() -> TempDir {
    let d = TempDir::new().unwrap();
    write(d.path(), "a/.env", format!("GITHUB_TOKEN={}\n", ghp(1)));
    write(d.path(), "b/.env", format!("GITHUB_TOKEN={}\n", ghp(2)));
    d
}

#[test]
fn an_ignore_file_applies_only_under_its_own_folder() {
    let d = two_roots();
    let r = d.path();
    // Written in `a` as gitleaks writes it when run there: meant for a/.env only.
    write(r, "a/.gitleaksignore", ".env:github-pat:1\n");
    let out = run(r, &["scan", "b", "a", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(places(&json(&out)), [pair("b/.env")]);
    expect_exit(&run(r, &["scan", "a"]), 0);
    expect_exit(&run(&r.join("a"), &["scan"]), 0);
    // The path as shown from here matches too, still only under the file's folder.
    write(
        r,
        "a/.gitleaksignore",
        "a/.env:github-pat:1\nb/.env:github-pat:1\n",
    );
    let out = run(r, &["scan", "a", "b", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(places(&json(&out)), [pair("b/.env")]);
    // The working directory's ignore file applies to what is under it, never above it.
    write(r, ".gitleaksignore", "b/.env:github-pat:1\n");
    expect_exit(&run(r, &["scan", "a", "b"]), 0);
    write(
        r,
        "b/.gitleaksignore",
        "../a/.env:github-pat:1\n.env:github-pat:1\n",
    );
    let out = run(&r.join("b"), &["scan", "../a", ".", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(places(&json(&out)), [pair("../a/.env")]);
    std::fs::remove_file(r.join("b/.gitleaksignore")).unwrap();
    // Outside a git work tree, a baseline applies where it was written (its paths are from
    // there): written in `a`, read in `a`; from the parent, a's finding is new again.
    std::fs::remove_file(r.join(".gitleaksignore")).unwrap();
    std::fs::remove_file(r.join("a/.gitleaksignore")).unwrap();
    let a = r.join("a");
    expect_exit(&run(&a, &["scan", "--baseline-write", "base.json"]), 0);
    expect_exit(&run(&a, &["scan", "--baseline", "base.json"]), 0);
    let out = run(
        r,
        &["scan", "a", "b", "--baseline", "a/base.json", "-f", "json"],
    );
    expect_exit(&out, 1);
    assert_eq!(places(&json(&out)), [pair("a/.env"), pair("b/.env")]);
}

#[test]
fn findings_name_files_as_the_paths_were_given() {
    let d = two_roots();
    let r = d.path();
    let out = run(r, &["scan", "a", "b", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(places(&json(&out)), [pair("a/.env"), pair("b/.env")]);
    let text = String::from_utf8_lossy(&run(r, &["scan", "./a/", "b"]).stdout).into_owned();
    assert!(
        text.contains("a/.env:1:14") && text.contains("b/.env:1:14"),
        "{text}"
    );
    let csv =
        String::from_utf8_lossy(&run(r, &["scan", "a", "b", "-f", "csv"]).stdout).into_owned();
    assert!(csv.contains("a/.env") && csv.contains("b/.env"), "{csv}");
    // `.` is unchanged; nested roots report a file once.
    let out = run(&r.join("a"), &["scan", ".", "-f", "json"]);
    assert_eq!(places(&json(&out)), [pair(".env")]);
    let out = run(r, &["scan", ".", "a", "-f", "json"]);
    assert_eq!(places(&json(&out)), [pair("a/.env"), pair("b/.env")]);
    // A file reached twice under one name (nested roots) is read and counted once; under two
    // names it is scanned under each (an entry for one name must not hide the other).
    let summary = |dir: &Path, args: &[&str]| {
        let out = run(dir, args);
        expect_exit(&out, 1);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        err.lines()
            .find(|l| l.contains(" finding(s) in "))
            .unwrap_or_else(|| panic!("no summary: {err}"))
            .split(", ")
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        summary(r, &["scan", ".", "a"]),
        "vigil: 2 finding(s) in 2 file(s)"
    );
    assert_eq!(
        summary(r, &["scan", "a", "a/.env", "./a/"]),
        "vigil: 1 finding(s) in 1 file(s)"
    );
    let out = run(r, &["scan", "./a/../a", "a", "-f", "json"]);
    assert_eq!(places(&json(&out)), [pair("a/../a/.env"), pair("a/.env")]);
    // An ignore entry for the first name leaves the second reported.
    write(r, ".gitleaksignore", "a/../a/.env:github-pat:1\n");
    let out = run(r, &["scan", "./a/../a", "a", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(places(&json(&out)), [pair("a/.env")]);
    std::fs::remove_file(r.join(".gitleaksignore")).unwrap();
    // `../` roots keep their `../`; an absolute root stays absolute.
    let out = run(&r.join("b"), &["scan", "../a", ".", "-f", "json"]);
    assert_eq!(places(&json(&out)), [pair("../a/.env"), pair(".env")]);
    let abs = r.join("a").display().to_string();
    let out = run(r, &["scan", &abs, "-f", "json"]);
    assert_eq!(places(&json(&out)), [pair(&format!("{abs}/.env"))]);
}

/// A monorepo: `services/bot/.env.discord` and `packages/shared/sub/cfg.py` hold tokens.
fn monorepo() -> TempDir {
    let d = TempDir::new().unwrap();
    let r = d.path();
    git(r, &["init", "-q"]);
    write(r, "services/bot/.env.discord", format!("GH={}\n", ghp(3)));
    write(
        r,
        "packages/shared/sub/cfg.py",
        format!("x = 1\nGH = '{}'\n", ghp(4)),
    );
    d
}

#[test]
fn sarif_locations_are_relative_to_the_source_root() {
    let d = monorepo();
    let services = d.path().join("services");
    let out = run(&services, &["scan", "../packages", "bot", "-f", "json"]);
    expect_exit(&out, 1);
    let files: Vec<String> = places(&json(&out)).into_iter().map(|p| p.0).collect();
    assert_eq!(files, ["../packages/shared/sub/cfg.py", "bot/.env.discord"]);
    let out = run(&services, &["scan", "../packages", "bot", "-f", "sarif"]);
    let sarif = json(&out);
    let mut uris: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"]["artifactLocation"];
            assert_eq!(loc["uriBaseId"], "%SRCROOT%");
            loc["uri"].as_str().unwrap()
        })
        .collect();
    uris.sort();
    assert_eq!(
        uris,
        ["packages/shared/sub/cfg.py", "services/bot/.env.discord"]
    );
}

#[test]
fn a_baseline_written_at_the_root_applies_in_a_subfolder() {
    let d = monorepo();
    let r = d.path();
    expect_exit(&run(r, &["scan", "--baseline-write", "base.json"]), 0);
    let services = r.join("services");
    expect_exit(&run(&services, &["scan", "--baseline", "../base.json"]), 0);
    expect_exit(
        &run(&services, &["scan", "bot", "--baseline", "../base.json"]),
        0,
    );
    // Written in a subfolder, it records paths from the root too: usable there.
    expect_exit(
        &run(&services, &["scan", "--baseline-write", "../sub.json"]),
        0,
    );
    let text = std::fs::read_to_string(r.join("sub.json")).unwrap();
    assert!(text.contains("\"services/bot/.env.discord\""), "{text}");
    let out = run(r, &["scan", "--baseline", "sub.json", "-f", "json"]);
    expect_exit(&out, 1);
    let files: Vec<String> = places(&json(&out)).into_iter().map(|p| p.0).collect();
    assert_eq!(files, ["packages/shared/sub/cfg.py"]);
}

#[test]
fn names_that_are_not_utf8_are_shown_losslessly() {
    use std::os::unix::ffi::OsStrExt as _;
    let d = TempDir::new().unwrap();
    let r = d.path();
    for (byte, seed) in [(0xff_u8, 5), (0xfe, 6)] {
        let bytes = [b'x', byte, b'.', b't', b'x', b't'];
        let name = std::ffi::OsStr::from_bytes(&bytes);
        std::fs::write(r.join(name), format!("K={}\n", ghp(seed))).unwrap();
    }
    let out = run(r, &["scan", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        places(&json(&out)),
        [pair("x\\xfe.txt"), pair("x\\xff.txt")]
    );
    let text = String::from_utf8_lossy(&run(r, &["scan"]).stdout).into_owned();
    assert!(text.contains("x\\xff.txt:1:3"), "{text}");
    // One ignore entry silences one file, never both.
    write(r, ".gitleaksignore", "x\\xff.txt:github-pat:1\n");
    let out = run(r, &["scan", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(places(&json(&out)), [pair("x\\xfe.txt")]);
    write(r, ".gitleaksignore", "x\u{fffd}.txt:github-pat:1\n");
    let out = run(r, &["scan", "-f", "json"]);
    assert_eq!(places(&json(&out)).len(), 2);
    // bb-all-s8 #7: a name that holds `\xfe` literally is not the byte 0xFE: in a name that
    // needs escaping, a backslash is escaped too, so no two files share a name, a fingerprint
    // or an ignore entry; SARIF names the real bytes.
    std::fs::remove_file(r.join(".gitleaksignore")).unwrap();
    std::fs::write(r.join("x\\xfe.txt"), format!("K={}\n", ghp(8))).unwrap();
    let out = run(r, &["scan", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        places(&json(&out)),
        [pair("x\\\\xfe.txt"), pair("x\\xfe.txt"), pair("x\\xff.txt")]
    );
    write(r, ".gitleaksignore", "x\\xfe.txt:github-pat:1\n");
    let out = run(r, &["scan", "-f", "json"]);
    assert_eq!(
        places(&json(&out)),
        [pair("x\\\\xfe.txt"), pair("x\\xff.txt")]
    );
    std::fs::remove_file(r.join(".gitleaksignore")).unwrap();
    let out = run(r, &["scan", "-f", "sarif"]);
    let sarif = String::from_utf8_lossy(&out.stdout).into_owned();
    for uri in ["x%FE.txt", "x%FF.txt", "x%5Cxfe.txt"] {
        assert!(
            sarif.contains(&format!("\"uri\": \"{uri}\"")),
            "{uri}: {sarif}"
        );
    }
}

#[test]
fn symbolic_links_not_followed_are_counted() {
    let d = TempDir::new().unwrap();
    let r = d.path();
    write(r, "outside/secret.txt", format!("K={}\n", ghp(7)));
    write(r, "sym/plain.txt", "nothing here\n");
    std::os::unix::fs::symlink("../outside/secret.txt", r.join("sym/link.txt")).unwrap();
    std::os::unix::fs::symlink("../outside", r.join("sym/dir")).unwrap();
    let sym = r.join("sym");
    let out = run(&sym, &["scan"]);
    expect_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("0 unreadable, 2 symbolic link(s) not followed (--follow-symlinks)"),
        "{err}"
    );
    let out = run(&sym, &["scan", "--follow-symlinks"]);
    expect_exit(&out, 1);
    assert!(!stderr(&out).contains("symbolic link"), "{}", stderr(&out));
}

#[test]
fn a_missing_path_is_one_line() {
    let d = two_roots();
    let r = d.path();
    for args in [
        &["scan", "nothere"][..],
        &["scan", "a", "nothere", "-f", "json"],
    ] {
        let out = run(r, args);
        expect_exit(&out, 2);
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("vigil: nothere: cannot scan: "), "{err}");
    }
    // A report written to a file still says the scan is incomplete.
    let out = run(r, &["scan", "a", "nothere", "-f", "json", "-o", "r.json"]);
    expect_exit(&out, 2);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(r.join("r.json")).unwrap()).unwrap();
    let last = report.as_array().unwrap().last().unwrap();
    assert_eq!(last["incomplete"], true, "{report}");
    assert_eq!(places(&report), [pair("a/.env")]);
}

/// bb-git-s8 #3: `--git`, `--staged` and `--pre-push` scan one repository; a second path was
/// silently left out (exit 0). Now exit 2 with one line.
#[test]
fn history_and_index_scans_take_one_path() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    for repo in ["a", "b"] {
        std::fs::create_dir_all(d.join(repo)).unwrap();
        git(&d.join(repo), &["init", "-q"]);
    }
    for flag in ["--git", "--staged"] {
        let out = run(d, &["scan", flag, "a", "b"]);
        expect_exit(&out, 2);
        assert!(stderr(&out).contains("give one path"), "{}", stderr(&out));
    }
}

/// bb-16-s8 F11: with `-q` and `--allow-incomplete` a missing path was named nowhere (the
/// report said "named in the warnings", which `-q` hides). The report names it.
#[test]
fn an_unreadable_path_is_named_in_the_report_itself() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    common::write(d, "x.txt", "hello\n");
    let out = common::run(
        d,
        &[
            "scan",
            "-q",
            "nothere",
            "x.txt",
            "--allow-incomplete",
            "-f",
            "sarif",
        ],
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("nothere"), "{report}");
}

/// bb-16-s8 F5: a FIFO named as an input was skipped without a word (exit 0). It is never read
/// (it would block), and the scan is incomplete, naming it.
#[test]
fn a_fifo_named_as_an_input_makes_the_scan_incomplete() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    common::write(d, "clean.txt", "hello\n");
    let made = std::process::Command::new("mkfifo")
        .arg(d.join("pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    let out = common::run(d, &["scan", "pipe", "clean.txt"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("pipe"), "{err}");
}

/// bb-scan-s10: a FIFO inside a walked folder holds nothing at rest and is not read (reading it
/// would block), but it is never passed over silently: the summary and the report count it.
#[test]
fn a_fifo_inside_a_folder_is_counted_not_read() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    common::write(d, "clean.txt", "hello\n");
    let made = std::process::Command::new("mkfifo")
        .arg(d.join("pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    let out = common::run(d, &["scan", "-f", "sarif"]);
    expect_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("1 FIFO, socket or device file(s) not read"),
        "{err}"
    );
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped = &sarif["runs"][0]["invocations"][0]["properties"]["skipped"];
    assert_eq!(skipped["special_files"], 1, "{sarif}");
}

/// Tester F1 (session 21): a path allowlist for `fixtures/` hid a secret in `src/` named
/// `fixtures/../src` (the pattern matched the name as typed); a file is allowed only when its
/// name with `..` resolved is allowed too. An allowlisted name of a file never hides it under
/// another name.
#[test]
fn an_allowlist_is_not_reached_through_dot_dot() {
    let d = TempDir::new().unwrap();
    let r = d.path();
    git(r, &["init", "-q"]);
    write(r, "src/leak.py", format!("T = \"{}\"\n", ghp(6)));
    write(r, "fixtures/ok.py", format!("T = \"{}\"\n", ghp(7)));
    write(
        r,
        "vigil.toml",
        "[scan.allowlist]\npaths = ['''^fixtures/''']\n",
    );
    let out = run(r, &["scan", "fixtures/../src", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(places(&json(&out)), [pair("fixtures/../src/leak.py")]);
    expect_exit(&run(r, &["scan", "fixtures"]), 0);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("src", r.join("linked")).unwrap();
        write(
            r,
            "vigil.toml",
            "[scan.allowlist]\npaths = ['''^linked/''']\n",
        );
        let out = run(r, &["scan", "linked", "src", "-f", "json"]);
        expect_exit(&out, 1);
        assert_eq!(places(&json(&out)), [pair("src/leak.py")]);
    }
}

/// Tester 127 F3, F4: `lnk/../b` (with `lnk` a link to `a/sub`) is `a/b`, not `b`: an ignore
/// entry or a baseline written for `b/t.txt` must not hide that other file.
#[cfg(unix)]
#[test]
fn dot_dot_after_a_link_is_not_the_folder_its_text_names() {
    let d = TempDir::new().unwrap();
    let r = d.path();
    write(r, "b/t.txt", format!("T = \"{}\"\n", ghp(8)));
    write(r, "a/b/t.txt", format!("T = \"{}\"\n", ghp(8)));
    std::fs::create_dir_all(r.join("a/sub")).unwrap();
    std::os::unix::fs::symlink("a/sub", r.join("lnk")).unwrap();
    write(r, ".gitleaksignore", "b/t.txt:github-pat:1\n");
    expect_exit(&run(r, &["scan", "b"]), 0);
    let out = run(r, &["scan", "lnk/../b", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(places(&json(&out)), [pair("lnk/../b/t.txt")]);
    std::fs::remove_file(r.join(".gitleaksignore")).unwrap();
    expect_exit(&run(r, &["scan", "b", "--baseline-write", "bl.json"]), 0);
    expect_exit(&run(r, &["scan", "b", "--baseline", "bl.json"]), 0);
    let out = run(
        r,
        &["scan", "lnk/../b", "--baseline", "bl.json", "-f", "json"],
    );
    expect_exit(&out, 1);
    assert_eq!(places(&json(&out)), [pair("lnk/../b/t.txt")]);
    // A `..` that leads where its text says is resolved as written.
    expect_exit(&run(r, &["scan", "a/../b", "--baseline", "bl.json"]), 0);
}

/// Tester 127 F8: a link the walk does not follow, reached by nested roots, was counted once
/// per root.
#[cfg(unix)]
#[test]
fn a_link_under_nested_roots_is_counted_once() {
    let d = TempDir::new().unwrap();
    let r = d.path();
    write(r, "a/sub/t.txt", format!("T = \"{}\"\n", ghp(9)));
    std::os::unix::fs::symlink("..", r.join("a/sub/up")).unwrap();
    for roots in [&[".", "a", "a/sub"][..], &["a", "a"][..]] {
        let mut args = vec!["scan"];
        args.extend_from_slice(roots);
        let out = run(r, &args);
        expect_exit(&out, 1);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("1 finding(s) in 1 file(s)")
                && err.contains("1 symbolic link(s) not followed"),
            "{roots:?}: {err}"
        );
    }
}
