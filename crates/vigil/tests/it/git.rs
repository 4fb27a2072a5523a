//! `vigil scan --git|--staged|--pre-push`, `vigil hook install` and `vigil purge` on real
//! repositories built at run time with the `git` command: branches, a secret added then removed,
//! the same blob in many commits, a merge, a rename, a shallow clone, a bare clone, packed and
//! loose objects, a gitlink, a missing object; git-filter-repo from PyPI for the purge.

use crate::common;

use common::{checked, expect_exit, git_command, json, run, token, vigil, write};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

/// Runs git in `dir` as `who`, dated `day` days after 2026-01-01 (the shared test setup
/// otherwise).
fn git_at(dir: &Path, day: u32, who: &str, args: &[&str]) -> String {
    let date = format!("2026-01-{:02}T12:00:00Z", day.clamp(1, 28));
    let email = format!("{}@example.org", who.to_lowercase());
    let mut c = git_command(dir, args);
    c.env("GIT_AUTHOR_NAME", who)
        .env("GIT_AUTHOR_EMAIL", &email)
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_NAME", who)
        .env("GIT_COMMITTER_EMAIL", &email)
        .env("GIT_COMMITTER_DATE", &date);
    checked(c, args)
}

fn git(dir: &Path, args: &[&str]) -> String {
    git_at(dir, 1, "Tester", args)
}

fn commit(dir: &Path, day: u32, who: &str, msg: &str) -> String {
    git_at(dir, day, who, &["add", "-A"]);
    git_at(dir, day, who, &["commit", "-q", "-m", msg]);
    git(dir, &["rev-parse", "HEAD"])
}

fn init(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "gc.auto", "0"]);
}

fn gh(seed: u64) -> String {
    token("ghp_{alnum:30}{ghcrc}", seed)
}

fn slack(seed: u64) -> String {
    token("xoxb-{digits:12}-{digits:13}-{alnum:24}", seed)
}

/// (file, rule, commit, author, message) of each finding (an incomplete run's closing status
/// object is not one).
fn attributions(v: &serde_json::Value) -> Vec<(String, String, String, String, String)> {
    let mut out: Vec<_> = v
        .as_array()
        .expect("array")
        .iter()
        .filter(|f| f.get("rule").is_some())
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
                f["commit"].as_str().unwrap_or("").to_owned(),
                f["author"].as_str().unwrap_or("").to_owned(),
                f["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

/// (file, commit, line) of each finding of a JSON report, sorted.
fn file_commit_line(out: &Output) -> Vec<(String, String, u64)> {
    let mut got: Vec<(String, String, u64)> = json(out)
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["commit"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    got
}

/// Runs `vigil args` (a JSON report) in `dir`: exit 2, and the report's incomplete reasons
/// include `reason`.
fn incomplete_saying(dir: &Path, args: &[&str], reason: &str) {
    let out = run(dir, args);
    expect_exit(&out, 2);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains(reason), "{args:?}: {report}");
}

struct History {
    dir: TempDir,
    added: String,
    feature: String,
    settings: String,
    renamed: String,
    secrets: Vec<String>,
}

/// main: c1 clean; c2 Alice adds config/.env (GitHub token); c3 Bob removes it; c4 adds
/// src/settings.py (Slack token) then 12 commits edit other files (the same blob in 13
/// commits); feature (from c2): Carol adds docs/notes.md (a second GitHub token) and edits it;
/// merge into main; c_last renames src/settings.py.
fn history() -> History {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    write(d, "README.md", "# demo\n");
    write(d, "src/app.py", "print('hello')\n");
    commit(d, 1, "Tester", "initial");
    let (t1, t2, t3) = (gh(1), slack(2), gh(3));
    write(d, "config/.env", format!("GITHUB_TOKEN={t1}\nPORT=8080\n"));
    let added = commit(d, 2, "Alice", "add config");
    git(d, &["branch", "feature"]);
    std::fs::remove_file(d.join("config/.env")).unwrap();
    write(d, "README.md", "# demo\nNever commit .env files.\n");
    commit(d, 3, "Bob", "remove leaked config");
    write(
        d,
        "src/settings.py",
        format!("SLACK_BOT_TOKEN = \"{t2}\"\n"),
    );
    let settings = commit(d, 4, "Dana", "settings");
    for i in 0..12 {
        write(d, "src/app.py", format!("print('hello {i}')\n"));
        commit(d, 5 + i, "Dana", &format!("edit {i}"));
    }
    git(d, &["checkout", "-q", "feature"]);
    write(d, "docs/notes.md", format!("token: {t3}\n"));
    let feature = commit(d, 18, "Carol", "notes");
    write(d, "docs/notes.md", format!("token: {t3}\nmore notes\n"));
    commit(d, 19, "Carol", "more notes");
    git(d, &["checkout", "-q", "main"]);
    git_at(
        d,
        20,
        "Dana",
        &["merge", "-q", "--no-ff", "-m", "merge feature", "feature"],
    );
    git_at(d, 21, "Dana", &["mv", "src/settings.py", "src/config.py"]);
    let renamed = commit(d, 21, "Dana", "rename settings");
    History {
        dir,
        added,
        feature,
        settings,
        renamed,
        secrets: vec![t1, t2, t3],
    }
}

#[test]
fn history_findings_are_attributed_to_the_commit_that_introduced_them() {
    let h = history();
    let d = h.dir.path();
    let out = run(d, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    let want = vec![
        (
            "config/.env".to_owned(),
            "github-pat".to_owned(),
            h.added.clone(),
            "Alice".to_owned(),
            "add config".to_owned(),
        ),
        (
            "docs/notes.md".into(),
            "github-pat".into(),
            h.feature.clone(),
            "Carol".into(),
            "notes".into(),
        ),
        (
            "src/settings.py".into(),
            "slack-bot-token".into(),
            h.settings.clone(),
            "Dana".into(),
            "settings".into(),
        ),
    ];
    assert_eq!(attributions(&v), want);
    let f = &v[0];
    assert_eq!(f["email"], "alice@example.org");
    assert_eq!(f["date"], "2026-01-02T12:00:00Z");
    assert_eq!(
        f["fingerprint"],
        format!("{}:config/.env:github-pat:1", h.added)
    );
    let all = String::from_utf8_lossy(&out.stdout);
    for s in &h.secrets {
        assert!(!all.contains(s.as_str()), "secrets are redacted");
    }
    assert!(!h.renamed.is_empty());

    // --branch, --range, --since narrow the walk.
    let b = json(&run(
        d,
        &["scan", "--git", "--branch", "feature", "-f", "json"],
    ));
    assert_eq!(
        attributions(&b)
            .iter()
            .map(|a| a.0.as_str())
            .collect::<Vec<_>>(),
        ["config/.env", "docs/notes.md"]
    );
    let r = json(&run(
        d,
        &[
            "scan",
            "--git",
            "--range",
            &format!("{}..main", h.added),
            "-f",
            "json",
        ],
    ));
    assert_eq!(
        attributions(&r)
            .iter()
            .map(|a| a.0.as_str())
            .collect::<Vec<_>>(),
        ["docs/notes.md", "src/settings.py"]
    );
    let s = json(&run(
        d,
        &["scan", "--git", "--since", "2026-01-10", "-f", "json"],
    ));
    // The rename of src/settings.py (added before --since) adds no secret, as a diff shows it.
    assert_eq!(
        attributions(&s)
            .iter()
            .map(|a| a.0.as_str())
            .collect::<Vec<_>>(),
        ["docs/notes.md"]
    );
    // A bad revision is one line, exit 2.
    let bad = run(d, &["scan", "--git", "--branch", "nope"]);
    expect_exit(&bad, 2);
    assert!(String::from_utf8_lossy(&bad.stderr)
        .starts_with("vigil: --branch `nope` does not name a commit"));

    // Packed objects, a bare clone and SARIF/text reports give the same answer.
    git(d, &["gc", "-q"]);
    let packed = json(&run(d, &["scan", "--git", "-f", "json"]));
    assert_eq!(attributions(&packed), want);
    let bare = d.join("bare.git");
    git(d, &["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let b = json(&run(d, &["scan", "--git", "bare.git", "-f", "json"]));
    assert_eq!(attributions(&b), want);
    let text = run(d, &["scan", "--git"]);
    assert!(String::from_utf8_lossy(&text.stdout)
        .contains(&format!("config/.env:1:14 @ {}", &h.added[..12])));
}

/// A long history (over the size where `scan --git` reads every tree of the pack in pack order
/// first) made with `git fast-import` and repacked with deep tree deltas: the pack-order path
/// (the default full walk) and the per-commit path (`--since` before the first commit) give the
/// same, correctly attributed findings.
#[test]
fn long_packed_histories_give_the_same_findings_on_both_tree_paths() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    let (t1, t2) = (gh(41), slack(42));
    let mut stream = String::new();
    let blob = |s: &mut String, path: &str, body: &str| {
        s.push_str(&format!(
            "M 100644 inline {path}\ndata {}\n{body}\n",
            body.len()
        ));
    };
    for i in 1..=320u32 {
        let when = 1_767_268_800 + u64::from(i) * 3600;
        let msg = format!("change {i}");
        stream.push_str(&format!(
            "commit refs/heads/main\nmark :{i}\nauthor Eve <eve@example.org> {when} +0000\n\
             committer Eve <eve@example.org> {when} +0000\ndata {}\n{msg}\n",
            msg.len()
        ));
        if i > 1 {
            stream.push_str(&format!("from :{}\n", i - 1));
        }
        blob(
            &mut stream,
            &format!("src/mod{}.rs", i % 17),
            &format!("// v{i}\n"),
        );
        match i {
            50 => blob(&mut stream, "deploy/.env", &format!("GITHUB_TOKEN={t1}\n")),
            60 => stream.push_str("D deploy/.env\n"),
            250 => blob(&mut stream, "bot/config.py", &format!("TOKEN = \"{t2}\"\n")),
            // Its line kept under a new first line: not new (the diff, taken ahead from the
            // packed versions' line prints, adds only the header).
            260 => blob(
                &mut stream,
                "bot/config.py",
                &format!("# header\nTOKEN = \"{t2}\"\n"),
            ),
            // The same line written twice: the diff adds the second, so it is new here.
            270 => blob(
                &mut stream,
                "bot/config.py",
                &format!("# header\nTOKEN = \"{t2}\"\nTOKEN = \"{t2}\"\n"),
            ),
            _ => {}
        }
        stream.push('\n');
    }
    let mut child = Command::new("git")
        .current_dir(d)
        .args(["fast-import", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), stream.as_bytes()).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    git(d, &["repack", "-adfq", "--depth=50", "--window=20"]);
    let at = |n: u32| git(d, &["rev-parse", &format!("main~{}", 320 - n)]);
    let mut want = vec![
        (
            "bot/config.py".to_owned(),
            "slack-bot-token".to_owned(),
            at(250),
            "Eve".to_owned(),
            "change 250".to_owned(),
        ),
        (
            "bot/config.py".into(),
            "slack-bot-token".into(),
            at(270),
            "Eve".into(),
            "change 270".into(),
        ),
        (
            "deploy/.env".into(),
            "github-pat".into(),
            at(50),
            "Eve".into(),
            "change 50".into(),
        ),
    ];
    want.sort();
    let full = run(d, &["scan", "--git", "-f", "json"]);
    expect_exit(&full, 1);
    assert_eq!(attributions(&json(&full)), want);
    let walked = run(d, &["scan", "--git", "--since", "2000-01-01", "-f", "json"]);
    assert_eq!(attributions(&json(&walked)), want);
}

#[test]
fn shallow_clones_gitlinks_and_missing_objects_are_handled() {
    let h = history();
    let d = h.dir.path();
    let shallow = TempDir::new().unwrap();
    let url = format!("file://{}", d.display());
    let s = shallow.path().join("s");
    git(
        shallow.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "2",
            "--no-single-branch",
            &url,
            s.to_str().unwrap(),
        ],
    );
    // A shallow clone lacks the history before its boundary: the scan says so and is
    // incomplete (exit 2), in the summary and the report; --allow-incomplete gives the verdict.
    let out = run(&s, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 2);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("shallow clone (2 boundary commit(s))"), "{e}");
    // The reason once, in the report; stderr says once that the scan is incomplete.
    assert!(
        e.contains(
            "incomplete scan: 1 reason(s) (the reasons are in the report on stdout); exit 2"
        ),
        "{e}"
    );
    assert!(!e.contains("history before 2 boundary commit(s)"), "{e}");
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("shallow clone: history before 2 boundary commit(s)"),
        "{e}"
    );
    let v = json(&out);
    let status = v.as_array().unwrap().last().unwrap();
    assert_eq!(status["incomplete"], true, "{v}");
    assert_eq!(status["reasons"][0]["gap"], "truncated", "{v}");
    let out = run(&s, &["scan", "--git", "-f", "json", "--allow-incomplete"]);
    expect_exit(&out, 1);
    let files: BTreeSet<String> = attributions(&json(&out)).into_iter().map(|a| a.0).collect();
    // The boundary commits (the merge on main, "notes" on feature) count as roots: what they
    // hold is reported there, nothing older is needed.
    let want: BTreeSet<String> = ["config/.env", "docs/notes.md", "src/settings.py"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(files, want);

    // A gitlink (submodule entry) is not content.
    let g = TempDir::new().unwrap();
    let gd = g.path();
    init(gd);
    write(gd, "a.txt", "x\n");
    let c = commit(gd, 1, "T", "a");
    git(
        gd,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{c},vendor/lib"),
        ],
    );
    git(gd, &["commit", "-q", "-m", "submodule"]);
    write(gd, "b.txt", format!("{}\n", gh(9)));
    let leak = commit(gd, 2, "T", "leak");
    expect_exit(&run(gd, &["scan", "--git"]), 1);
    // A missing blob is a warning naming it, not a crash; other commits are still scanned. The
    // scan could not look at everything, so it is never clean: exit 2 (issue 20), unless
    // --allow-incomplete.
    let blob = git(gd, &["rev-parse", "HEAD:b.txt"]);
    let p = gd.join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    std::fs::remove_file(&p).unwrap();
    let out = run(gd, &["scan", "--git"]);
    expect_exit(&out, 2);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("blob missing from this clone") && e.contains(&blob),
        "{e}"
    );
    assert!(e.contains("1 missing, 0 unreadable object(s)"), "{e}");
    assert!(e.contains("incomplete scan: 1 reason(s)"), "{e}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "incomplete: 1 git object(s) missing from this clone (deleted or never fetched): blob {blob} (b.txt)"
        )),
        "{e}"
    );
    let out = run(gd, &["scan", "--git", "--allow-incomplete", "-f", "json"]);
    expect_exit(&out, 0);
    let v = json(&out);
    let status = v.as_array().unwrap().last().unwrap();
    assert_eq!(status["incomplete"], true, "{v}");
    assert_eq!(status["reasons"][0]["gap"], "unreadable", "{v}");
    assert_eq!(status["reasons"][0]["count"], 1, "{v}");
    assert!(
        status["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&blob),
        "{v}"
    );
    // Every report format names it: SARIF, the text report.
    let out = run(gd, &["scan", "--git", "-f", "sarif"]);
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&blob));
    let out = run(gd, &["scan", "--git"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&blob));
    // A commit whose object is gone ends the walk on that line: counted, incomplete.
    let p = gd.join(".git/objects").join(&c[..2]).join(&c[2..]);
    std::fs::remove_file(&p).unwrap();
    let out = run(gd, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 2);
    let e = String::from_utf8_lossy(&out.stderr);
    // Its reasons once, in the report (stderr says once that there are some); the commit is
    // named where the walk stopped.
    assert!(e.contains("incomplete scan: 2 reason(s)"), "{e}");
    assert!(e.contains(&c), "{e}");
    assert!(!leak.is_empty());
}

#[test]
fn a_partial_clone_names_its_missing_blobs_and_is_incomplete() {
    let h = history();
    let d = h.dir.path();
    let tmp = TempDir::new().unwrap();
    let url = format!("file://{}", d.display());
    let p = tmp.path().join("p");
    git(d, &["config", "uploadpack.allowFilter", "true"]);
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--filter=blob:none",
            "--no-checkout",
            "--no-local",
            &url,
            p.to_str().unwrap(),
        ],
    );
    let out = run(&p, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 2);
    let v = json(&out);
    let status = v.as_array().unwrap().last().unwrap();
    assert_eq!(status["incomplete"], true, "{v}");
    let msg = status["reasons"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("missing from this clone (this is a partial clone"),
        "{msg}"
    );
    assert!(msg.contains("blob "), "{msg}");
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("incomplete scan: 1 reason(s)") && !e.contains(" 0 missing"),
        "{e}"
    );
}

#[test]
fn staged_scans_only_what_the_commit_adds_and_the_hook_refuses_it() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    write(d, "app.env", format!("OLD_TOKEN={}\n", gh(20)));
    commit(d, 1, "T", "old leak, being purged");
    // An unrelated edit of the same file: the old secret is not on a new line.
    write(d, "app.env", format!("OLD_TOKEN={}\nPORT=1\n", gh(20)));
    git(d, &["add", "app.env"]);
    let out = run(d, &["scan", "--staged"]);
    expect_exit(&out, 0);
    write(d, "new.py", format!("TOKEN = '{}'\n", slack(21)));
    git(d, &["add", "new.py"]);
    let out = run(d, &["scan", "--staged", "-f", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["file"], "new.py");
    assert!(v[0].get("commit").is_none());

    // vigil hook install writes a pre-commit hook that refuses the commit.
    let out = run(d, &["hook", "install", "--pre-push"]);
    expect_exit(&out, 0);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_vigil"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    let c = Command::new("git")
        .current_dir(d)
        .args(["commit", "-q", "-m", "leak"])
        .env("PATH", &path)
        .env("HOME", d)
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .output()
        .unwrap();
    assert!(!c.status.success(), "the hook refused the commit");
    assert!(
        String::from_utf8_lossy(&c.stderr).contains("1 finding(s)"),
        "{}",
        String::from_utf8_lossy(&c.stderr)
    );
    // A foreign hook is chained, not replaced: kept beside, it runs after vigil (tests/hooks.rs
    // runs it); --force replaces one instead and keeps it as .bak.
    let hook = d.join(".git/hooks/pre-commit");
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
    expect_exit(&run(d, &["hook", "install"]), 0);
    assert_eq!(
        std::fs::read_to_string(d.join(".git/hooks/pre-commit.vigil-chained")).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    std::fs::remove_file(d.join(".git/hooks/pre-commit.vigil-chained")).unwrap();
    std::fs::write(&hook, "#!/bin/sh\necho other\n").unwrap();
    expect_exit(&run(d, &["hook", "install", "--force"]), 0);
    assert_eq!(
        std::fs::read_to_string(d.join(".git/hooks/pre-commit.bak")).unwrap(),
        "#!/bin/sh\necho other\n"
    );
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("vigil scan --staged"));
}

#[test]
fn pre_push_scans_only_commits_the_remote_lacks() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let remote = d.join("remote.git");
    git(d, &["init", "-q", "--bare", remote.to_str().unwrap()]);
    let w = d.join("work");
    std::fs::create_dir_all(&w).unwrap();
    init(&w);
    write(&w, "old.txt", format!("{}\n", gh(30)));
    let pushed = commit(&w, 1, "T", "already public");
    git(&w, &["remote", "add", "origin", remote.to_str().unwrap()]);
    git(&w, &["push", "-q", "origin", "main"]);
    write(&w, "new.txt", format!("{}\n", slack(31)));
    let local = commit(&w, 2, "T", "new leak");
    let mut c = vigil(&w);
    c.args(["scan", "--pre-push", "-f", "json"])
        .write_stdin(format!(
            "refs/heads/main {local} refs/heads/main {pushed}\n"
        ));
    let out = c.output().unwrap();
    expect_exit(&out, 1);
    let v = json(&out);
    assert_eq!(
        attributions(&v)
            .iter()
            .map(|a| (a.0.as_str(), a.2.as_str()))
            .collect::<Vec<_>>(),
        [("new.txt", local.as_str())]
    );
    // Without stdin: HEAD minus what the upstream remote (origin) advertises.
    git(&w, &["fetch", "-q", "origin"]);
    let out = run(&w, &["scan", "--pre-push", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
}

/// `git-filter-repo` from PyPI, in the shared test venv.
fn filter_repo_dir() -> PathBuf {
    let py = common::python_with("git_filter_repo", "git-filter-repo");
    let bin = py.parent().unwrap().to_path_buf();
    if bin.join("git-filter-repo").exists() {
        return bin;
    }
    // The system python has the module: find its script.
    let out = Command::new("sh")
        .args(["-c", "command -v git-filter-repo"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn purge_removes_every_secret_and_keeps_every_clean_tree() {
    let h = history();
    let d = h.dir.path();
    let outside = TempDir::new().unwrap();
    let repl_path = outside.path().join("repl.txt");
    let repl_arg = repl_path.to_str().unwrap();
    let out = run(d, &["purge", "plan", "-o", repl_arg]);
    expect_exit(&out, 0);
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        plan.contains("Rotate every one of these secrets first"),
        "{plan}"
    );
    assert!(plan.contains("3 secret(s)"), "{plan}");
    let repl = std::fs::read_to_string(&repl_path).unwrap();
    for s in &h.secrets {
        assert!(repl.contains(&format!("literal:{s}==>***REMOVED***")));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&repl_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // A redacted report cannot drive a purge.
    let rep = run(d, &["scan", "--git", "-f", "json", "-o", "redacted.json"]);
    expect_exit(&rep, 1);
    let out = run(d, &["purge", "plan", "--report", "redacted.json"]);
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the secret is redacted"));

    // Trees of commits that hold no secret, before the purge.
    let clean_trees = |repo: &Path| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for line in git(repo, &["rev-list", "--all", "--format=%H %T"])
            .lines()
            .filter(|l| !l.starts_with("commit "))
        {
            let (c, t) = line.split_once(' ').unwrap();
            let dirty = h.secrets.iter().any(|s| {
                Command::new("git")
                    .current_dir(repo)
                    .args(["grep", "-q", "-F", s, c])
                    .status()
                    .unwrap()
                    .success()
            });
            if !dirty {
                out.insert(t.to_owned());
            }
        }
        out
    };
    let before = clean_trees(d);
    assert_eq!(
        before.len(),
        2,
        "initial and after-removal commits hold no secret"
    );
    let mirror = d.join("purge.git");
    git(
        d,
        &["clone", "-q", "--mirror", ".", mirror.to_str().unwrap()],
    );
    // Not a mirror: refused.
    let out = run(
        d,
        &[
            "purge",
            "apply",
            "--mirror",
            ".",
            "--replacements",
            repl_arg,
        ],
    );
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a mirror clone"));
    let bin = filter_repo_dir();
    let mut c = vigil(d);
    c.args([
        "purge",
        "apply",
        "--mirror",
        "purge.git",
        "--replacements",
        repl_arg,
    ])
    .env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    let out = c.output().unwrap();
    expect_exit(&out, 0);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is clean"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The whole history re-scans clean, every clean tree survives, and nothing was pushed.
    expect_exit(&run(d, &["scan", "--git", "purge.git"]), 0);
    let after: BTreeSet<String> = git(&mirror, &["rev-list", "--all", "--format=%T"])
        .lines()
        .filter(|l| !l.starts_with("commit "))
        .map(str::to_owned)
        .collect();
    assert!(
        before.is_subset(&after),
        "clean trees changed: {:?}",
        before.difference(&after).collect::<Vec<_>>()
    );
    assert_eq!(
        git(&mirror, &["rev-list", "--all"]).lines().count(),
        git(d, &["rev-list", "--all"]).lines().count()
    );
    assert_eq!(
        attributions(&json(&run(d, &["scan", "--git", "-f", "json"]))).len(),
        3,
        "the original is untouched"
    );
}

#[test]
fn staged_scans_say_they_read_the_index() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    write(d, "a.txt", "hello\n");
    commit(d, 1, "T", "first");
    write(d, "b.txt", format!("T = '{}'\n", slack(22)));
    git(d, &["add", "b.txt"]);
    let out = run(d, &["scan", "--staged"]);
    expect_exit(&out, 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 finding(s) in the index"), "{err}");
    assert!(!err.contains("commit(s)"), "{err}");
}

#[test]
fn relative_paths_to_bare_repositories_work() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let w = d.join("work");
    std::fs::create_dir_all(&w).unwrap();
    init(&w);
    write(&w, "bot.py", format!("TOKEN = '{}'\n", slack(23)));
    commit(&w, 1, "T", "leak");
    git(d, &["clone", "-q", "--bare", "work", "bot.git"]);
    git(d, &["clone", "-q", "--mirror", "work", "purge.git"]);
    let sib = d.join("elsewhere");
    std::fs::create_dir_all(&sib).unwrap();
    let out = run(&sib, &["scan", "--git", "../bot.git", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    let out = run(&sib, &["purge", "plan", "../bot.git", "-o", "../repl.txt"]);
    expect_exit(&out, 0);
    let bin = filter_repo_dir();
    let mut c = vigil(&sib);
    c.args([
        "purge",
        "apply",
        "--mirror",
        "../purge.git",
        "--replacements",
        "../repl.txt",
    ])
    .env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    let out = c.output().unwrap();
    expect_exit(&out, 0);
    expect_exit(&run(&sib, &["scan", "--git", "../purge.git"]), 0);
}

#[test]
fn the_replacements_file_is_private_and_never_in_the_working_tree() {
    let h = history();
    let d = h.dir.path();
    let untracked = |d: &Path| git(d, &["status", "--porcelain", "--untracked-files=all"]);
    assert_eq!(untracked(d), "");
    // By default: outside the working tree, 0600 in a 0700 folder, named in the plan.
    let out = run(d, &["purge", "plan"]);
    expect_exit(&out, 0);
    assert_eq!(untracked(d), "", "purge plan left a file git would add");
    let plan = String::from_utf8_lossy(&out.stdout);
    let file = plan
        .lines()
        .find_map(|l| l.split("Replacements: ").nth(1))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{plan}"));
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains(&h.secrets[0]));
    // `purge apply` finds it without being told.
    let outside = TempDir::new().unwrap();
    let mirror = outside.path().join("mirror.git");
    git(
        d,
        &["clone", "-q", "--mirror", ".", mirror.to_str().unwrap()],
    );
    let bin = filter_repo_dir();
    let mut c = vigil(d);
    c.args(["purge", "apply", "--mirror", mirror.to_str().unwrap()])
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        );
    let out = c.output().unwrap();
    expect_exit(&out, 0);
    // Inside the working tree: only in a folder git ignores.
    let out = run(d, &["purge", "plan", "-o", "repl.txt"]);
    expect_exit(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("git-ignored"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!d.join("repl.txt").exists());
    write(d, ".gitignore", "private/\n");
    git(d, &["add", ".gitignore"]);
    let out = run(d, &["purge", "plan", "-o", "private/repl.txt"]);
    expect_exit(&out, 0);
    assert_eq!(mode(&d.join("private/repl.txt")), 0o600);
    assert_eq!(mode(&d.join("private")), 0o700);
}

/// Runs a program in `dir`, asserting it succeeds; returns its stdout.
fn tool(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository holding, as real tools write them: an OpenSSH private key (from `ssh-keygen`)
/// base64-encoded in a Rust constant (`openssl base64`), a database URL percent-encoded
/// (Python's `urllib.parse.quote`), a GitHub token in a zip (Python's `zipfile`) inside a
/// tar.gz (`tar czf`), and a `.env` inside a wheel. Returns the commit that added them.
fn hidden_secrets_repo(gd: &Path) -> String {
    init(gd);
    let work = gd.join(".work");
    std::fs::create_dir_all(&work).unwrap();
    tool(
        &work,
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "deploy",
            "-f",
            "deploy_key",
        ],
    );
    let b64 = tool(&work, "openssl", &["base64", "-A", "-in", "deploy_key"]);
    write(
        gd,
        "src/keys.rs",
        format!(
            "//! Test keys.\n\n/// A deploy key, base64 so the file stays on one line.\npub const DEPLOY_KEY: &str = \"{}\";\n",
            b64.trim()
        ),
    );
    let pw = token("«{alnum:24}»", 2001);
    let url = format!("postgresql://app:{pw}@db.internal:5432/app");
    let quoted = tool(
        &work,
        "python3",
        &[
            "-c",
            "import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=''))",
            &url,
        ],
    );
    write(
        gd,
        "deploy/settings.ini",
        format!("[db]\nurl = {}\n", quoted.trim()),
    );
    // A token in a zip in a tar.gz.
    let gh_token = gh(2002);
    write(
        &work,
        "config/token.txt",
        format!("GITHUB_TOKEN={gh_token}\n"),
    );
    std::fs::create_dir_all(work.join("site")).unwrap();
    tool(
        &work,
        "python3",
        &["-c", "import zipfile; z = zipfile.ZipFile('site/secrets.zip', 'w', zipfile.ZIP_DEFLATED); z.write('config/token.txt'); z.close()"],
    );
    std::fs::create_dir_all(gd.join("dist")).unwrap();
    tool(
        &work,
        "tar",
        &["czf", "../dist/site.tar.gz", "site/secrets.zip"],
    );
    // A .env in a wheel.
    let openai = token("«sk-proj-{b64url:74}T3BlbkFJ{b64url:74}»", 2003);
    write(&work, "wheel/app/__init__.py", "VERSION = '1.0'\n");
    write(
        &work,
        "wheel/app/.env",
        format!("OPENAI_API_KEY={openai}\n"),
    );
    write(
        &work,
        "wheel/app-1.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: app\nVersion: 1.0\n",
    );
    write(
        &work,
        "wheel/app-1.0.dist-info/WHEEL",
        "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    );
    write(
        &work,
        "wheel/app-1.0.dist-info/RECORD",
        "app/__init__.py,,\napp/.env,,\napp-1.0.dist-info/METADATA,,\napp-1.0.dist-info/WHEEL,,\napp-1.0.dist-info/RECORD,,\n",
    );
    tool(
        &work.join("wheel"),
        "python3",
        &["-c", "import os, zipfile\nz = zipfile.ZipFile('../../dist/app-1.0-py3-none-any.whl', 'w', zipfile.ZIP_DEFLATED)\nfor d, _, fs in os.walk('.'):\n    for f in fs:\n        p = os.path.join(d, f)[2:]\n        z.write(p, p)\nz.close()"],
    );
    std::fs::remove_dir_all(&work).unwrap();
    commit(gd, 3, "Dev", "add deploy material")
}

/// What every scan of [`hidden_secrets_repo`] must find: file, rule, decoded, archive path.
fn hidden_expected() -> Vec<(String, String, Vec<String>, Vec<String>)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        (
            "deploy/settings.ini".into(),
            "database-url-password".into(),
            s(&["percent"]),
            vec![],
        ),
        (
            "dist/app-1.0-py3-none-any.whl!app/.env".into(),
            "openai-api-key".into(),
            vec![],
            s(&["app/.env"]),
        ),
        (
            "dist/site.tar.gz!site/secrets.zip!config/token.txt".into(),
            "github-pat".into(),
            vec![],
            s(&["site/secrets.zip", "config/token.txt"]),
        ),
        (
            "src/keys.rs".into(),
            "private-key".into(),
            s(&["base64"]),
            vec![],
        ),
    ]
}

/// (file, rule, decoded, archive_path) of a JSON report, sorted.
fn hidden_found(v: &serde_json::Value) -> Vec<(String, String, Vec<String>, Vec<String>)> {
    let strs = |x: &serde_json::Value| -> Vec<String> {
        x.as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    let mut out: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
                strs(&f["decoded"]),
                strs(&f["archive_path"]),
            )
        })
        .collect();
    out.sort();
    out
}

/// Checks a SARIF file against the official schema and returns it.
fn valid_sarif(path: &Path) -> serde_json::Value {
    let py = common::python_with("jsonschema", "jsonschema");
    let check = Command::new(py)
        .args(["-c", "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))"])
        .arg(path)
        .arg(common::sarif_schema())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "SARIF invalid: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn encoded_and_archived_secrets_are_found_in_files_and_history() {
    let dir = TempDir::new().unwrap();
    let gd = dir.path();
    let added = hidden_secrets_repo(gd);
    let key_line = std::fs::read_to_string(gd.join("src/keys.rs")).unwrap();
    let key_col = key_line.lines().nth(3).unwrap().find("\"").unwrap() + 2;
    for history in [false, true] {
        let mut args = vec!["scan", "-f", "json"];
        if history {
            args.push("--git");
        } else {
            args.push(".");
        }
        let out = run(gd, &args);
        expect_exit(&out, 1);
        let v = json(&out);
        assert_eq!(
            hidden_found(&v),
            hidden_expected(),
            "history {history}: {v}"
        );
        let a = v.as_array().unwrap();
        let key = a.iter().find(|f| f["rule"] == "private-key").unwrap();
        // Placed on the encoded text: line 4, from the opening quote's next byte.
        assert_eq!(
            (key["line"].as_u64(), key["column"].as_u64()),
            (Some(4), Some(key_col as u64))
        );
        if history {
            assert!(a.iter().all(|f| f["commit"] == added.as_str()), "{v}");
        }
        // SARIF: schema-valid, archive members and decodings in the result.
        let mut sargs = args.clone();
        sargs.retain(|a| *a != "json" && *a != "-f");
        sargs.extend(["-f", "sarif", "-o", "hidden.sarif"]);
        let out = run(gd, &sargs);
        expect_exit(&out, 1);
        let s = valid_sarif(&gd.join("hidden.sarif"));
        std::fs::remove_file(gd.join("hidden.sarif")).unwrap();
        let results = s["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 4);
        let by_rule = |r: &str| results.iter().find(|x| x["ruleId"] == r).unwrap();
        let gh = by_rule("github-pat");
        assert_eq!(
            gh["properties"]["archivePath"],
            serde_json::json!(["site/secrets.zip", "config/token.txt"])
        );
        assert_eq!(
            gh["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "dist/site.tar.gz"
        );
        assert_eq!(
            gh["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "dist/site.tar.gz!site/secrets.zip!config/token.txt"
        );
        assert_eq!(
            by_rule("private-key")["properties"]["decoded"],
            serde_json::json!(["base64"])
        );
        assert_eq!(
            by_rule("database-url-password")["properties"]["decoded"],
            serde_json::json!(["percent"])
        );
        assert_eq!(
            by_rule("openai-api-key")["properties"]["archivePath"],
            serde_json::json!(["app/.env"])
        );
        assert_eq!(s["runs"][0]["invocations"][0]["executionSuccessful"], true);
    }
    // Without decoding and archives, none of the four is found, and the archives left closed
    // and the text left encoded make the scan incomplete (bb-scan-s9 F6).
    let out = run(
        gd,
        &[
            "scan",
            ".",
            "-f",
            "json",
            "--max-decode-depth",
            "0",
            "--max-archive-depth",
            "0",
        ],
    );
    expect_exit(&out, 2);
    assert_eq!(json(&out).as_array().unwrap().len(), 1, "only the status");
    // The reason is in the report; stderr says once that the scan is incomplete.
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("2 archive(s) nested deeper than --max-archive-depth 0 were not opened"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("incomplete scan: 2 reason(s)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One level of archives: the zip in the tar.gz is not opened, and the scan says so.
    let out = run(gd, &["scan", ".", "-f", "json", "--max-archive-depth", "1"]);
    expect_exit(&out, 2);
    let v = json(&out);
    let status = v.as_array().unwrap().last().unwrap();
    assert_eq!(status["incomplete"], true);
    assert_eq!(status["reasons"][0]["gap"], "truncated");
    assert!(
        status["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("dist/site.tar.gz!site/secrets.zip (depth 2)"),
        "{status}"
    );
}

#[test]
fn a_secret_is_reported_at_each_commit_that_adds_it_as_a_diff_shows() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    let t = gh(3001);
    write(d, "a.py", format!("TOKEN = \"{t}\"\nx = 1\n"));
    let c1 = commit(d, 1, "A", "add");
    write(d, "a.py", format!("TOKEN = \"{t}\"\nx = 2\n"));
    commit(d, 2, "A", "edit another line");
    write(
        d,
        "a.py",
        format!("x = 2\n\nGITHUB_TOKEN = \"{t}\"  # renamed variable\n"),
    );
    let c3 = commit(d, 3, "A", "rewrite the line");
    write(d, "b.py", format!("# copy for the worker\nTOKEN = '{t}'\n"));
    let c4 = commit(d, 4, "A", "copy into b");
    git(d, &["mv", "a.py", "c.py"]);
    commit(d, 5, "A", "rename a");
    // A second copy of a line the file already has: the diff adds it (uv's pip_install.rs).
    let body = format!("x = 2\n\nGITHUB_TOKEN = \"{t}\"  # renamed variable\n");
    write(
        d,
        "c.py",
        format!("{body}GITHUB_TOKEN = \"{t}\"  # renamed variable\n"),
    );
    let c6 = commit(d, 6, "A", "the same line twice");
    // A copy beside its source is a new file to git (uv's "mod (conflicted copy …).rs"); a
    // rename of that copy is not.
    std::fs::copy(d.join("c.py"), d.join("c (conflicted copy).py")).unwrap();
    let c7 = commit(d, 7, "A", "sync client copy");
    git(d, &["mv", "c (conflicted copy).py", "d.py"]);
    commit(d, 8, "A", "rename the copy");
    let out = run(d, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    let got = file_commit_line(&out);
    let mut want = vec![
        ("a.py".to_owned(), c1, 1),
        ("a.py".to_owned(), c3, 3),
        ("b.py".to_owned(), c4, 2),
        ("c.py".to_owned(), c6.clone(), 4),
        ("c (conflicted copy).py".to_owned(), c7.clone(), 3),
        ("c (conflicted copy).py".to_owned(), c7, 4),
    ];
    want.sort();
    assert_eq!(got, want, "not the edit elsewhere, not the renames");
}

/// Tester helper-115 #1, #2: a finding whose line an edit keeps is new where it stops being
/// allowed: the `nextline` marker above it removed, or its file renamed out of an allowlisted
/// folder. The whole history and a range starting after the allowed version both report it.
#[test]
fn a_secret_is_reported_where_it_stops_being_allowed() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    let (t, u) = (gh(3101), gh(3102));
    let marked = "# pragma: allowlist nextline secret";
    write(d, "f.py", format!("{marked}\nt = \"{t}\"\n"));
    write(
        d,
        "vigil.toml",
        "[scan.allowlist]\npaths = ['^fixtures/']\n",
    );
    write(d, "fixtures/a.py", format!("u = \"{u}\"\n"));
    let c1 = commit(d, 1, "A", "allowed");
    // An edit that keeps the marker keeps the secret allowed.
    write(d, "f.py", format!("{marked}\nt = \"{t}\"\nx = 1\n"));
    commit(d, 2, "A", "edit below");
    write(
        d,
        "f.py",
        format!("{marked}\nimport os\nt = \"{t}\"\nx = 1\n"),
    );
    let c3 = commit(d, 3, "A", "a line between the marker and the secret");
    std::fs::create_dir_all(d.join("src")).unwrap();
    git(d, &["mv", "fixtures/a.py", "src/app.py"]);
    let c4 = commit(d, 4, "A", "out of the fixtures");
    let found = |args: &[&str]| {
        let out = run(d, args);
        expect_exit(&out, 1);
        file_commit_line(&out)
    };
    let mut want = vec![
        ("f.py".to_owned(), c3.clone(), 3),
        ("src/app.py".to_owned(), c4.clone(), 1),
    ];
    want.sort();
    assert_eq!(found(&["scan", "--git", "-f", "json"]), want);
    // Packed: the diffs are taken ahead from the packed versions.
    git(d, &["gc", "-q"]);
    assert_eq!(found(&["scan", "--git", "-f", "json"]), want);
    // A range whose base holds the allowed versions reads them itself.
    let range = format!("{}..HEAD", &c1[..12]);
    assert_eq!(
        found(&["scan", "--git", "--range", &range, "-f", "json"]),
        want
    );
}

/// Tester helper-115 #3: a composite rule (`[[rules.required]]`) whose required part arrives in
/// a later commit, beside a primary line that was already there, is reported at that commit
/// (the earlier version did not report it), as the directory scan of the result reports it.
#[test]
fn a_composite_rule_completed_by_a_later_commit_is_reported_there() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    write(
        d,
        ".gitleaks.toml",
        r#"[extend]
useDefault = true
[[rules]]
id = "acme-secret"
regex = '''acme_secret\s*=\s*"([a-z0-9]{24})"'''
secretGroup = 1
[[rules.required]]
id = "acme-id"
withinLines = 3
[[rules]]
id = "acme-id"
regex = '''acme_id\s*=\s*"(AC[0-9]{8})"'''
secretGroup = 1
"#,
    );
    let secret = token("{lowernum:24}", 3103);
    write(d, "app.py", format!("x = 1\nacme_secret = \"{secret}\"\n"));
    commit(d, 1, "A", "the primary part alone");
    write(
        d,
        "app.py",
        format!("x = 1\nacme_secret = \"{secret}\"\nacme_id = \"AC12345678\"\n"),
    );
    let c2 = commit(d, 2, "A", "the required part");
    let out = run(d, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    let composite: Vec<(String, String)> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "acme-secret")
        .map(|f| {
            (
                f["commit"].as_str().unwrap().to_owned(),
                f["line"].to_string(),
            )
        })
        .collect();
    assert_eq!(composite, [(c2, "2".to_owned())]);
}

/// Tester helper-115 #5: a merge of two branches that both edited a file holds the second
/// branch's secret on a line its first parent lacks; that secret was reported where the branch
/// added it, not again at the merge. A secret the merge itself adds still is.
#[test]
fn a_merge_does_not_report_again_what_its_second_parent_reported() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    let (t, u) = (slack(3111), slack(3112));
    write(d, "f.py", "a = 1\nb = 2\nc = 3\n");
    commit(d, 1, "A", "base");
    git(d, &["checkout", "-q", "-b", "feat"]);
    write(d, "f.py", format!("a = 1\nb = 2\nc = 3\nt = \"{t}\"\n"));
    let leak = commit(d, 2, "B", "leak on the branch");
    git(d, &["checkout", "-q", "main"]);
    write(d, "f.py", "z = 0\na = 1\nb = 2\nc = 3\n");
    commit(d, 3, "A", "edit on main");
    git_at(d, 4, "A", &["merge", "-q", "--no-edit", "feat"]);
    let merge = git(d, &["rev-parse", "HEAD"]);
    let found = || {
        let out = run(d, &["scan", "--git", "-f", "json"]);
        expect_exit(&out, 1);
        file_commit_line(&out)
    };
    assert_eq!(found(), [("f.py".to_owned(), leak.clone(), 4)]);
    // An evil merge: the merge commit adds a line of its own.
    git(d, &["reset", "-q", "--hard", "HEAD~1"]);
    git_at(d, 4, "A", &["merge", "-q", "--no-commit", "feat"]);
    let merged = std::fs::read_to_string(d.join("f.py")).unwrap();
    write(d, "f.py", format!("{merged}u = \"{u}\"\n"));
    let evil = commit(d, 4, "A", "merge with an extra line");
    assert_ne!(evil, merge);
    let mut want = vec![("f.py".to_owned(), leak, 4), ("f.py".to_owned(), evil, 6)];
    want.sort();
    assert_eq!(found(), want);
}

/// Tester helper-117 M1: a missing blob whose path holds a token is named in the warning and in
/// the report's reasons with the token masked, as the finding on its path masks it.
#[test]
fn a_missing_object_is_named_without_the_secret_in_its_path() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    let t = gh(3121);
    write(d, &format!("cfg/{t}.txt"), "harmless\n");
    commit(d, 1, "A", "a file named after a token");
    let blob = git(d, &["rev-parse", &format!("HEAD:cfg/{t}.txt")]);
    std::fs::remove_file(d.join(".git/objects").join(&blob[..2]).join(&blob[2..])).unwrap();
    for format in ["json", "sarif", "text"] {
        let out = run(d, &["scan", "--git", "-f", format]);
        expect_exit(&out, 2);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains(&blob), "the blob is named: {all}");
        assert!(!all.contains(&t), "{format}: the token is printed: {all}");
    }
}

/// Tester helper-118 M1: a secret moved from one existing file into another (both files are
/// there before and after) is added to that file, as `git log -p` shows it: not a rename, which
/// git pairs only from a path that is gone to one that is new.
#[test]
fn a_secret_moved_between_existing_files_is_reported_where_it_lands() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    let line = format!("k={}\n", gh(3131));
    write(d, "s1.txt", &line);
    write(d, "s2.txt", "x=1\n");
    let c1 = commit(d, 1, "A", "the token in s1");
    write(d, "s1.txt", "x=1\n");
    write(d, "s2.txt", &line);
    let c2 = commit(d, 2, "A", "moved into s2");
    let out = run(d, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        file_commit_line(&out),
        [("s1.txt".to_owned(), c1, 1), ("s2.txt".to_owned(), c2, 1)]
    );
}

/// A `git clone --shared` keeps its history in the source's packs (`objects/info/alternates`):
/// those packs are read like the clone's own (trees and blobs through their delta families), and
/// the clone's scan reports what the source's does.
#[test]
fn a_shared_clone_is_scanned_through_its_alternates_packs() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let src = d.join("src");
    std::fs::create_dir_all(&src).unwrap();
    init(&src);
    write(&src, "a.py", format!("t = \"{}\"\n", gh(3141)));
    commit(&src, 1, "A", "a token");
    write(&src, "a.py", "t = 1\n");
    commit(&src, 2, "A", "removed");
    git(&src, &["gc", "-q"]);
    git(d, &["clone", "-q", "--shared", "src", "dst"]);
    let found = |at: &Path| {
        let out = run(at, &["scan", "--git", "-f", "json"]);
        expect_exit(&out, 1);
        file_commit_line(&out)
    };
    let want = found(&src);
    assert_eq!(want.len(), 1);
    assert_eq!(found(&d.join("dst")), want);
}

// ---------------------------------------------------------------------------------------------
// Black-box report on issue 15 (h15-blackbox.md): B, H.
// ---------------------------------------------------------------------------------------------

/// B: `purge apply` rewrites only a bare *mirror* clone (`remote.origin.mirror = true`, fetch
/// `+refs/*:refs/*`): a plain `git clone --bare` (the shared origin, say) and a bare repository
/// without any origin are refused, and not one ref changes.
#[test]
fn purge_apply_refuses_a_plain_bare_clone_and_the_origin_itself() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let w = d.join("work");
    std::fs::create_dir_all(&w).unwrap();
    init(&w);
    write(&w, "bot.py", format!("TOKEN = '{}'\n", slack(401)));
    commit(&w, 1, "T", "leak");
    git(d, &["clone", "-q", "--bare", "work", "bot.git"]);
    git(d, &["init", "-q", "--bare", "origin.git"]);
    git(
        &w,
        &["push", "-q", d.join("origin.git").to_str().unwrap(), "main"],
    );
    let out = run(d, &["purge", "plan", "work", "-o", "repl.txt"]);
    expect_exit(&out, 0);
    let bin = filter_repo_dir();
    for (repo, why) in [("bot.git", "mirror"), ("origin.git", "origin")] {
        let refs = git(
            &d.join(repo),
            &["for-each-ref", "--format=%(objectname) %(refname)"],
        );
        let mut c = vigil(d);
        c.args([
            "purge",
            "apply",
            "--mirror",
            repo,
            "--replacements",
            "repl.txt",
        ])
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        );
        let out = c.output().unwrap();
        expect_exit(&out, 2);
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(
            e.contains("not a mirror clone") && e.contains(why),
            "{repo}: {e}"
        );
        assert_eq!(
            git(
                &d.join(repo),
                &["for-each-ref", "--format=%(objectname) %(refname)"]
            ),
            refs,
            "{repo} was rewritten"
        );
    }
}

/// H: the replacements file (every secret in clear) is never written through a link, even one
/// inside a git-ignored folder that points at a tracked file.
#[test]
fn the_replacements_file_is_never_written_through_a_link() {
    let h = history();
    let d = h.dir.path();
    write(d, ".gitignore", "secrets/\n");
    write(d, "legacy/notes.txt", "notes\n");
    commit(d, 22, "T", "notes");
    std::fs::create_dir_all(d.join("secrets")).unwrap();
    std::os::unix::fs::symlink("../legacy/notes.txt", d.join("secrets/link.txt")).unwrap();
    let out = run(d, &["purge", "plan", "-o", "secrets/link.txt"]);
    expect_exit(&out, 2);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("secrets/link.txt") && e.contains("link"), "{e}");
    assert_eq!(
        std::fs::read_to_string(d.join("legacy/notes.txt")).unwrap(),
        "notes\n"
    );
    assert_eq!(git(d, &["status", "--porcelain"]), "");
}

#[test]
fn secrets_only_a_merge_holds_are_found_and_attributed_to_the_merge() {
    let g = TempDir::new().unwrap();
    let d = g.path();
    init(d);
    write(d, "app.cfg", "mode = dev\n");
    commit(d, 1, "T", "base");
    git(d, &["checkout", "-q", "-b", "feature"]);
    write(d, "app.cfg", "mode = feature\n");
    commit(d, 2, "Fay", "feature mode");
    git(d, &["checkout", "-q", "main"]);
    write(d, "app.cfg", "mode = main\n");
    commit(d, 3, "Max", "main mode");
    // A conflict, resolved with a line neither side had: the secret is only in the merge.
    let out = Command::new("git")
        .current_dir(d)
        .args(["merge", "-q", "feature"])
        .env("HOME", d)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the merge conflicts");
    write(d, "app.cfg", format!("mode = both\ntoken = {}\n", gh(41)));
    let resolution = commit(d, 4, "Rita", "merge feature");
    // An evil merge: a clean merge that also adds a file no parent has.
    git(d, &["checkout", "-q", "-b", "side", "HEAD~1"]);
    write(d, "side.txt", "side\n");
    commit(d, 5, "Sid", "side");
    git(d, &["checkout", "-q", "main"]);
    git_at(
        d,
        6,
        "Eve",
        &["merge", "-q", "--no-ff", "--no-commit", "side"],
    );
    write(d, "deploy/.env", format!("SLACK_BOT_TOKEN={}\n", slack(42)));
    let evil = commit(d, 6, "Eve", "merge side");
    let out = run(d, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    let got: Vec<(String, String, String)> = attributions(&json(&out))
        .into_iter()
        .map(|a| (a.0, a.2, a.3))
        .collect();
    assert_eq!(
        got,
        vec![
            ("app.cfg".to_owned(), resolution, "Rita".to_owned()),
            ("deploy/.env".to_owned(), evil, "Eve".to_owned()),
        ]
    );
}

#[test]
fn all_objects_finds_secrets_no_ref_reaches_and_says_they_are_unreachable() {
    let g = TempDir::new().unwrap();
    let d = g.path();
    init(d);
    write(d, "README.md", "clean\n");
    commit(d, 1, "T", "clean");
    // A commit no ref reaches (as after a force-push or a dropped stash) and a blob no commit
    // holds (added, then never committed).
    std::fs::write(d.join("gone.env"), format!("TOKEN={}\n", gh(51))).unwrap();
    let blob = git(d, &["hash-object", "-w", "gone.env"]);
    std::fs::remove_file(d.join("gone.env")).unwrap();
    let tree = Command::new("git")
        .current_dir(d)
        .args(["mktree"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("100644 blob {blob}\tgone.env\n").as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let tree = String::from_utf8_lossy(&tree.stdout).trim().to_owned();
    let dangling = git(
        d,
        &[
            "commit-tree",
            &tree,
            "-p",
            "HEAD",
            "-m",
            "force-pushed away",
        ],
    );
    std::fs::write(d.join("staged.env"), format!("TOKEN={}\n", gh(52))).unwrap();
    let loose = git(d, &["hash-object", "-w", "staged.env"]);
    std::fs::remove_file(d.join("staged.env")).unwrap();

    // Without --all-objects: history as the refs give it, clean.
    expect_exit(&run(d, &["scan", "--git"]), 0);
    let out = run(d, &["scan", "--git", "--all-objects", "-f", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    let found: Vec<(String, String, bool)> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("rule").is_some())
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["commit"].as_str().unwrap_or("").to_owned(),
                f["unreachable"] == true,
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("gone.env".to_owned(), dangling, true),
            (format!("unreachable:{loose}"), String::new(), true),
        ],
        "{v}"
    );
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("2 unreachable object(s) scanned"), "{e}");
    // tester helper-117 H2: the loose blob damaged so that not even its header inflates is not
    // dropped in silence: the scan is incomplete.
    let file = d.join(".git/objects").join(&loose[..2]).join(&loose[2..]);
    writable(&file);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[3] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    incomplete_saying(
        d,
        &["scan", "--git", "--all-objects", "-f", "json"],
        &format!("object (its header cannot be read) {loose}"),
    );
}

/// `git mktree` with `entries` on stdin: the new tree's id.
fn mktree(dir: &Path, entries: &str) -> String {
    use std::io::Write as _;
    let mut child = Command::new("git")
        .current_dir(dir)
        .arg("mktree")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("git runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(entries.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn trees_nested_deeper_than_git_reads_make_the_scan_incomplete_not_a_crash() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    write(d, "s.txt", format!("GITHUB_TOKEN={}\n", gh(21)));
    git(d, &["add", "s.txt"]);
    let blob = git(d, &["rev-parse", ":s.txt"]);
    // A chain of trees, each holding the next as `d/`, the secret at the bottom: 1,500 levels
    // (git reads it; so must the scan) and 2,100 (past git's 2,048: refused, never a stack
    // overflow).
    let mut tree = mktree(d, &format!("100644 blob {blob}\ts.txt\n"));
    let mut at_1500 = String::new();
    for level in 1..=2100 {
        tree = mktree(d, &format!("040000 tree {tree}\td\n"));
        if level == 1500 {
            at_1500 = tree.clone();
        }
    }
    for (branch, t) in [("shallow", &at_1500), ("deep", &tree)] {
        let c = git(d, &["commit-tree", t, "-m", branch]);
        git(d, &["update-ref", &format!("refs/heads/{branch}"), &c]);
    }
    let out = run(d, &["scan", "--git", "--branch", "shallow", "-f", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|f| f["file"].as_str().is_some_and(|p| p.ends_with("/d/s.txt"))),
        "{v}"
    );
    let out = run(d, &["scan", "--git", "--branch", "deep"]);
    expect_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("deeper than 2048"), "{err}");
}

#[test]
fn a_detached_head_is_scanned_and_a_ref_naming_no_readable_commit_is_never_dropped() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    write(d, "README.md", "hello\n");
    commit(d, 1, "Ann", "init");
    // A pull request checked out as CI does: a commit on no branch, HEAD detached at it.
    write(d, "pr.txt", format!("GITHUB_TOKEN={}\n", gh(31)));
    let pr = commit(d, 2, "Ann", "pr");
    git(d, &["checkout", "-q", "--detach", &pr]);
    git(d, &["branch", "-f", "main", "HEAD~1"]);
    let out = run(d, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    assert!(
        json(&out)
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["file"] == "pr.txt" && f["commit"] == pr.as_str()),
        "the detached HEAD's commit is scanned"
    );
    git(d, &["checkout", "-q", "main"]);

    // A branch whose tip object is gone: the scan is incomplete, not clean.
    write(d, "b.txt", "nothing\n");
    git(d, &["checkout", "-q", "-b", "side"]);
    let tip = commit(d, 3, "Ann", "side");
    git(d, &["checkout", "-q", "main"]);
    std::fs::remove_file(d.join(".git/objects").join(&tip[..2]).join(&tip[2..])).unwrap();
    let out = run(d, &["scan", "--git"]);
    expect_exit(&out, 2);
    git(d, &["branch", "-D", "-f", "side"]);
    let out = run(d, &["scan", "--git"]);
    expect_exit(&out, 0);

    // A tag naming a blob: not scanned by the commit walk, so the scan says so; --all-objects
    // scans it.
    write(d, "c.txt", format!("GITHUB_TOKEN={}\n", gh(32)));
    let blob = git(d, &["hash-object", "-w", "c.txt"]);
    std::fs::remove_file(d.join("c.txt")).unwrap();
    git(d, &["tag", "blobtag", &blob]);
    let out = run(d, &["scan", "--git"]);
    expect_exit(&out, 2);
    let out = run(d, &["scan", "--git", "--all-objects"]);
    expect_exit(&out, 1);
}

#[test]
fn since_skips_a_commit_only_when_both_its_dates_are_older() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    write(d, "README.md", "hello\n");
    commit(d, 1, "Ann", "init");
    // Authored "in 2001", committed in 2026: the author date is whatever the author says.
    write(d, "s.txt", format!("GITHUB_TOKEN={}\n", gh(41)));
    git(d, &["add", "-A"]);
    let out = Command::new("git")
        .current_dir(d)
        .args(["commit", "-q", "-m", "backdated"])
        .env("GIT_AUTHOR_NAME", "Ann")
        .env("GIT_AUTHOR_EMAIL", "ann@example.org")
        .env("GIT_AUTHOR_DATE", "2001-01-01T12:00:00Z")
        .env("GIT_COMMITTER_NAME", "Ann")
        .env("GIT_COMMITTER_EMAIL", "ann@example.org")
        .env("GIT_COMMITTER_DATE", "2026-01-02T12:00:00Z")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", d)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = run(d, &["scan", "--git", "--since", "2020-01-01"]);
    expect_exit(&out, 1);
    // Both dates older than --since: skipped, as asked.
    let out = run(d, &["scan", "--git", "--since", "2026-06-01"]);
    expect_exit(&out, 0);
}

/// Tester helper-117 M4: a commit whose two dates are before `--since` but which comes after a
/// commit that is scanned (backdated, or a run of them) is scanned: what follows builds on it,
/// so leaving it out hid its secret with exit 0. Commits truly older than the date stay out.
#[test]
fn since_scans_a_backdated_commit_after_a_newer_one() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    write(d, "old.txt", format!("GITHUB_TOKEN={}\n", gh(42)));
    commit(d, 1, "Ann", "old, with a token: before --since");
    write(d, "README.md", "hello\n");
    commit(d, 20, "Ann", "new");
    let backdated = |name: &str, seed: u64| {
        write(d, name, format!("GITHUB_TOKEN={}\n", gh(seed)));
        commit_backdated(d, "backdated")
    };
    let x1 = backdated("a.txt", 43);
    let x2 = backdated("b.txt", 44);
    write(d, "README.md", "hello again\n");
    commit(d, 21, "Ann", "new again");
    let out = run(d, &["scan", "--git", "--since", "2026-01-10", "-f", "json"]);
    expect_exit(&out, 1);
    let mut want = vec![("a.txt".to_owned(), x1), ("b.txt".to_owned(), x2)];
    want.sort();
    assert_eq!(files_and_commits(&out), want);
}

/// Tester helper-119 #1: a side branch whose commits are all dated before `--since`, merged by a
/// commit after it, brings its secret in through the merge: the commits the merge brings in
/// (reachable from its second parent, not from its first) are scanned.
#[test]
fn since_scans_the_old_commits_a_new_merge_brings_in() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    let old = |msg: &str| commit_backdated(d, msg);
    write(d, "a.txt", "a\n");
    old("base");
    write(d, "a.txt", "a\nb\n");
    commit(d, 20, "Ann", "recent");
    git(d, &["checkout", "-q", "-b", "side", "HEAD~1"]);
    write(d, "s.txt", format!("tok={}\n", gh(45)));
    let sneaky = old("sneaky");
    git(d, &["checkout", "-q", "main"]);
    git_at(
        d,
        21,
        "Ann",
        &["merge", "-q", "--no-ff", "side", "-m", "merge"],
    );
    git(d, &["branch", "-q", "-D", "side"]);
    let out = run(d, &["scan", "--git", "--since", "2026-01-10", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(files_and_commits(&out), [("s.txt".to_owned(), sneaky)]);
}

/// Tester helper-120 #1: the old branch as the merge's *first* parent (main merged into a
/// backdated branch, then main fast-forwarded to the merge) is brought in all the same.
#[test]
fn since_scans_an_old_first_parent_a_new_merge_brings_in() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    let old = |msg: &str| commit_backdated(d, msg);
    write(d, "base.txt", "base\n");
    old("base");
    write(d, "r.txt", "r1\n");
    commit(d, 20, "Ann", "recent");
    git(d, &["checkout", "-q", "-b", "o1", "HEAD~1"]);
    write(d, "o1.py", format!("t={}\n", gh(46)));
    let o1 = old("o1");
    git_at(
        d,
        21,
        "Ann",
        &["merge", "-q", "--no-ff", "main", "-m", "merge main into o1"],
    );
    git(d, &["checkout", "-q", "main"]);
    git(d, &["reset", "-q", "--hard", "o1"]);
    let out = run(d, &["scan", "--git", "--since", "2026-01-10", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(files_and_commits(&out), [("o1.py".to_owned(), o1)]);
}

/// Commits everything with both dates in 2001 (before any `--since` of these tests); its id.
fn commit_backdated(dir: &Path, msg: &str) -> String {
    git(dir, &["add", "-A"]);
    let mut c = git_command(dir, &["commit", "-q", "-m", msg]);
    c.env("GIT_AUTHOR_DATE", "2001-01-01T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2001-01-01T12:00:00Z");
    checked(c, &["commit"]);
    git(dir, &["rev-parse", "HEAD"])
}

/// (file, commit) of every finding.
fn files_and_commits(out: &std::process::Output) -> Vec<(String, String)> {
    let mut v: Vec<_> = json(out)
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("rule").is_some())
        .map(|f| {
            (
                // Metadata (a message) is a place, not a file: JSON gives it as `scope`.
                f["file"]
                    .as_str()
                    .or(f["scope"].as_str())
                    .unwrap()
                    .to_owned(),
                f["commit"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Points `child`'s first parent at `parent` in the commit-graph file (CDAT chunk), as someone
/// with write access to `.git` could: the graph is a cache, the commit objects are the truth.
fn forge_commit_graph(git_dir: &Path, child: &str, parent: &str) {
    let path = git_dir.join("objects/info/commit-graph");
    let mut g = std::fs::read(&path).unwrap();
    assert_eq!(&g[..4], b"CGPH");
    let chunks = g[6] as usize;
    let mut table = std::collections::HashMap::new();
    for i in 0..chunks {
        let at = 8 + 12 * i;
        let id: [u8; 4] = g[at..at + 4].try_into().unwrap();
        let off = u64::from_be_bytes(g[at + 4..at + 12].try_into().unwrap()) as usize;
        table.insert(id, off);
    }
    let (oidl, cdat) = (table[b"OIDL"], table[b"CDAT"]);
    let n = (cdat - oidl) / 20;
    let pos = |hex: &str| {
        let id: Vec<u8> = (0..20)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        (0..n)
            .find(|&k| g[oidl + 20 * k..oidl + 20 * k + 20] == id[..])
            .expect("commit in the graph")
    };
    let (c, p) = (pos(child), pos(parent));
    let at = cdat + 36 * c + 20;
    g[at..at + 4].copy_from_slice(&(p as u32).to_be_bytes());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&path, g).unwrap();
}

use std::os::unix::fs::PermissionsExt;

#[test]
fn replace_refs_and_a_forged_commit_graph_hide_no_commit() {
    // init <- S (adds a secret) <- C (removes it). Each trick below hides S from a walk that
    // trusts it; git push still sends S.
    let build = || {
        let dir = TempDir::new().unwrap();
        let d = dir.path();
        init(d);
        write(d, "README.md", "hello\n");
        let base = commit(d, 1, "Ann", "init");
        write(d, "s.txt", format!("GITHUB_TOKEN={}\n", gh(51)));
        let s = commit(d, 2, "Ann", "add");
        std::fs::remove_file(d.join("s.txt")).unwrap();
        let c = commit(d, 3, "Ann", "remove");
        (dir, base, s, c)
    };
    let found_at_s = |d: &Path, s: &str, extra: &[&str]| {
        let mut args = vec!["scan", "--git", "-f", "json"];
        args.extend_from_slice(extra);
        let out = run(d, &args);
        expect_exit(&out, 1);
        assert_eq!(
            files_and_commits(&out),
            [("s.txt".to_owned(), s.to_owned())]
        );
        out
    };

    // A graft: C's parent replaced by init.
    let (dir, base, s, c) = build();
    let d = dir.path();
    git(d, &["replace", "--graft", &c, &base]);
    assert_eq!(
        git(d, &["rev-list", "--count", "main"]),
        "2",
        "git honours it"
    );
    found_at_s(d, &s, &[]);
    let out = found_at_s(d, &s, &["--all-objects"]);
    assert!(
        json(&out).as_array().unwrap()[0]["unreachable"] != true,
        "S is reachable from main"
    );

    // S replaced by a clean commit.
    let (dir, base, s, _c) = build();
    let d = dir.path();
    let tree = git(d, &["rev-parse", &format!("{base}^{{tree}}")]);
    let clean = git(d, &["commit-tree", &tree, "-p", &base, "-m", "clean"]);
    git(d, &["replace", &s, &clean]);
    found_at_s(d, &s, &[]);

    // A commit-graph whose CDAT says C's parent is init.
    let (dir, base, s, c) = build();
    let d = dir.path();
    git(d, &["commit-graph", "write", "--reachable"]);
    forge_commit_graph(&d.join(".git"), &c, &base);
    assert_eq!(
        git(d, &["rev-list", "--count", "main"]),
        "2",
        "git trusts it"
    );
    found_at_s(d, &s, &[]);
}

#[test]
fn commit_and_tag_messages_are_scanned_and_located() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let remote = d.join("remote.git");
    git(d, &["init", "-q", "--bare", remote.to_str().unwrap()]);
    let w = d.join("work");
    std::fs::create_dir_all(&w).unwrap();
    init(&w);
    write(&w, "README.md", "hello\n");
    let base = commit(&w, 1, "Ann", "init");
    git(&w, &["remote", "add", "origin", remote.to_str().unwrap()]);
    git(&w, &["push", "-q", "origin", "main"]);
    let out = run(&w, &["scan", "--git"]);
    expect_exit(&out, 0);

    // A token pasted into a commit message: found in history and by the pre-push hook.
    let msg = format!("deploy\n\nused GITHUB_TOKEN={} to test\n", gh(61));
    git(&w, &["commit", "-q", "--allow-empty", "-m", &msg]);
    let head = git(&w, &["rev-parse", "HEAD"]);
    let label = format!("commit {head} message");
    let out = run(&w, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(files_and_commits(&out), [(label.clone(), head.clone())]);
    assert_eq!(json(&out).as_array().unwrap()[0]["line"], 3);
    for format in ["text", "sarif", "csv", "junit", "markdown"] {
        let out = run(&w, &["scan", "--git", "-f", format]);
        expect_exit(&out, 1);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&label),
            "{format} names {label}"
        );
    }
    let mut c = vigil(&w);
    c.args(["scan", "--pre-push", "-f", "json"])
        .write_stdin(format!("refs/heads/main {head} refs/heads/main {base}\n"));
    let out = c.output().unwrap();
    expect_exit(&out, 1);
    assert_eq!(files_and_commits(&out), [(label.clone(), head.clone())]);
    git(&w, &["reset", "-q", "--hard", &base]);
    git(&w, &["reflog", "expire", "--expire=now", "--all"]);
    git(&w, &["prune", "--expire=now"]);
    let out = run(&w, &["scan", "--git"]);
    expect_exit(&out, 0);

    // An annotated tag's message: found in history, by the pre-push hook, and with
    // --all-objects once the tag is deleted (then unreachable).
    let msg = format!("release\n\nSLACK_BOT_TOKEN={}\n", slack(62));
    git(&w, &["tag", "-a", "v1", "-m", &msg]);
    let tag = git(&w, &["rev-parse", "v1"]);
    let out = run(&w, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(
        files_and_commits(&out),
        [("tag v1 message".to_owned(), String::new())]
    );
    let mut c = vigil(&w);
    c.args(["scan", "--pre-push", "-f", "json"])
        .write_stdin(format!(
            "refs/tags/v1 {tag} refs/tags/v1 0000000000000000000000000000000000000000\n"
        ));
    let out = c.output().unwrap();
    expect_exit(&out, 1);
    assert_eq!(
        files_and_commits(&out),
        [("tag v1 message".to_owned(), String::new())]
    );
    git(&w, &["tag", "-d", "v1"]);
    let out = run(&w, &["scan", "--git"]);
    expect_exit(&out, 0);
    let out = run(&w, &["scan", "--git", "--all-objects", "-f", "json"]);
    expect_exit(&out, 1);
    let v = json(&out);
    let f = &v.as_array().unwrap()[0];
    assert_eq!(
        (f["scope"].as_str(), &f["unreachable"]),
        (Some("tag v1 message"), &serde_json::json!(true))
    );
    assert!(f.get("file").is_none(), "a message is no file");
}

#[test]
fn symlink_targets_are_scanned_in_history_and_staged() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    write(d, "README.md", "hello\n");
    commit(d, 1, "Ann", "init");
    std::os::unix::fs::symlink(format!("GITHUB_TOKEN={}", gh(71)), d.join("lnk")).unwrap();
    git(d, &["add", "lnk"]);
    let out = run(d, &["scan", "--staged", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(files_and_commits(&out), [("lnk".to_owned(), String::new())]);
    let c = commit(d, 2, "Ann", "link");
    let out = run(d, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(files_and_commits(&out), [("lnk".to_owned(), c)]);
    // Read again: without --cache every blob is read.
    let out = run(d, &["scan", "--git"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2 blob(s)"),
        "the link is counted: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn garbage_refs_are_named_and_git_dir_is_honoured() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    write(d, "README.md", "hello\n");
    commit(d, 1, "Ann", "init");
    write(d, "s.txt", format!("GITHUB_TOKEN={}\n", gh(81)));
    let s = commit(d, 2, "Ann", "add");

    // GIT_DIR (as git sets it for hooks) wins over the working directory.
    let elsewhere = TempDir::new().unwrap();
    let out = vigil(elsewhere.path())
        .args(["scan", "--git", "-f", "json"])
        .env("GIT_DIR", d.join(".git"))
        .output()
        .unwrap();
    expect_exit(&out, 1);
    assert_eq!(files_and_commits(&out), [("s.txt".to_owned(), s.clone())]);

    // A loose ref that is not a ref: named, and the scan is incomplete.
    write(d, ".git/refs/heads/broken", "garbage-not-sha\n");
    let out = run(d, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken"), "the ref is named: {stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("broken"));
    let out = run(d, &["scan", "--git", "--allow-incomplete"]);
    expect_exit(&out, 1);

    // --range errors say what is wrong.
    std::fs::remove_file(d.join(".git/refs/heads/broken")).unwrap();
    let out = run(d, &["scan", "--git", "--range", "HEAD~1"]);
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("`HEAD~1`: not a range (expected A..B)"));
    let out = run(d, &["scan", "--git", "--range", "HEAD~1...HEAD"]);
    expect_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("A...B (symmetric difference) is not supported"));
}

#[test]
fn altered_blobs_are_unreadable_and_odd_paths_are_shown_losslessly() {
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    write(d, "README.md", "hello\n");
    commit(d, 1, "Ann", "init");
    // A file whose name is not UTF-8: reported with the odd byte escaped, not as `�`.
    let name = std::ffi::OsStr::from_bytes(b"bad\xff.txt");
    std::fs::write(d.join(name), format!("GITHUB_TOKEN={}\n", gh(91))).unwrap();
    let c = commit(d, 2, "Ann", "odd name");
    let out = run(d, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(files_and_commits(&out), [("bad\\xff.txt".to_owned(), c)]);

    // A loose blob rewritten on disk (valid zlib, other bytes): git fsck reports a hash
    // mismatch; the scan counts it unreadable instead of scanning the altered bytes.
    write(d, "s.txt", format!("GITHUB_TOKEN={}\n", gh(92)));
    commit(d, 3, "Ann", "add");
    let real = git(d, &["rev-parse", "HEAD:s.txt"]);
    write(d, "other.txt", "nothing to see\n");
    let other = git(d, &["hash-object", "-w", "other.txt"]);
    std::fs::remove_file(d.join("other.txt")).unwrap();
    let obj = |id: &str| d.join(".git/objects").join(&id[..2]).join(&id[2..]);
    std::fs::remove_file(obj(&real)).unwrap();
    std::fs::copy(obj(&other), obj(&real)).unwrap();
    let out = run(d, &["scan", "--git"]);
    expect_exit(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not hash to its id"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_damaged_packed_blob_is_unreadable_not_scanned_clean() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    // Long enough that its zlib stream has room for a flipped byte in the middle.
    let text: String = (0..200)
        .map(|i| format!("line {i}: GITHUB_TOKEN={}\n", gh(94)))
        .collect();
    write(d, "s.txt", text);
    commit(d, 1, "Ann", "add");
    git(d, &["repack", "-adq"]);
    let blob = git(d, &["rev-parse", "HEAD:s.txt"]);
    let pack_dir = d.join(".git/objects/pack");
    let idx = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .unwrap();
    // `git verify-pack -v`: "<id> <type> <size> <size in pack> <offset>".
    let listing = git(d, &["verify-pack", "-v", idx.to_str().unwrap()]);
    let line = listing.lines().find(|l| l.starts_with(&blob)).unwrap();
    let cols: Vec<u64> = line
        .split_whitespace()
        .skip(2)
        .take(3)
        .map(|c| c.parse().unwrap())
        .collect();
    let (in_pack, offset) = (cols[1], cols[2]);
    let pack = idx.with_extension("pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    let at = (offset + in_pack / 2) as usize;
    bytes[at] ^= 0x55;
    std::fs::write(&pack, bytes).unwrap();
    let out = run(d, &["scan", "--git"]);
    expect_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("incomplete"), "{stderr}");
}

/// bb-scan-s10: a missing object is counted and warned about once, however many commits hold
/// it (a deleted tree is met by its own commit and by its child's comparison).
#[test]
fn a_missing_tree_is_counted_once() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    init(d);
    write(d, "sub/a.txt", "a\n");
    write(d, "b.txt", "b\n");
    commit(d, 1, "Ann", "one");
    write(d, "sub/c.txt", "c\n");
    commit(d, 2, "Ann", "two");
    let tree = git(d, &["rev-parse", "HEAD~1:sub"]);
    std::fs::remove_file(d.join(".git/objects").join(&tree[..2]).join(&tree[2..])).unwrap();
    let out = run(d, &["scan", "--git"]);
    expect_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(", 1 missing, 0 unreadable object(s)"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("tree missing from this clone").count(),
        1,
        "{stderr}"
    );
    assert_eq!(stderr.matches(tree.as_str()).count(), 1, "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches(tree.as_str()).count(), 1, "{stdout}");
}

/// tester helper-113 (session 16) #5: a whole-history scan of a repository with no commit (a
/// CI job pointed at an empty or wrong clone) is incomplete, exit 2; a part of history that
/// holds no commit (an empty `--range`) is not.
#[test]
fn an_empty_repository_is_no_clean_history() {
    let dir = TempDir::new().unwrap();
    let bare = dir.path().join("empty.git");
    git(
        dir.path(),
        &["init", "-q", "--bare", bare.to_str().unwrap()],
    );
    // The reason is in the report (-f json's `incomplete` reasons).
    incomplete_saying(
        dir.path(),
        &["scan", "--git", "empty.git", "-f", "json"],
        "no commit was scanned",
    );
    let h = history();
    let none = run(h.dir.path(), &["scan", "--git", "--range", "HEAD..HEAD"]);
    expect_exit(&none, 0);
}

/// A repository of two commits: `a.cfg` written, then a GitHub token (seed `seed`) added to it.
fn leaked_in_second_commit(d: &Path, seed: u64) {
    init(d);
    write(d, "a.cfg", "port = 8080\n");
    commit(d, 1, "Ann", "c1");
    write(
        d,
        "a.cfg",
        format!("port = 8080\nGITHUB_TOKEN={}\n", gh(seed)),
    );
    commit(d, 2, "Ann", "c2");
}

/// Makes a (read-only) object or pack file writable, as an attacker with access to `.git` can.
fn writable(path: &Path) {
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    perms.set_mode(0o644);
    std::fs::set_permissions(path, perms).unwrap();
}

/// Overwrites the loose object file of `victim` with that of `with` (both revisions).
fn overwrite_loose(d: &Path, victim: &str, with: &str) {
    let loose = |rev: &str| {
        let id = git(d, &["rev-parse", rev]);
        let id = id.trim();
        d.join(".git/objects").join(&id[..2]).join(&id[2..])
    };
    let (victim, with) = (loose(victim), loose(with));
    writable(&victim);
    std::fs::copy(&with, &victim).unwrap();
}

/// tester helper-114 (session 16) #1, #3: a pack index or multi-pack-index whose bytes were
/// altered (an offset, a fan-out count) can send a lookup to another object's entry, so a
/// parent blob read as its child hides the child's added secret; an index failing its checksum
/// makes the scan incomplete, exit 2.
#[test]
fn a_damaged_pack_index_or_multi_pack_index_makes_the_scan_incomplete() {
    for file in ["idx", "multi-pack-index"] {
        let dir = TempDir::new().unwrap();
        let d = dir.path();
        leaked_in_second_commit(d, 61);
        git(d, &["repack", "-adq"]);
        git(d, &["multi-pack-index", "write"]);
        let clean = run(d, &["scan", "--git"]);
        expect_exit(&clean, 1);
        let pack_dir = d.join(".git/objects/pack");
        let target = std::fs::read_dir(&pack_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().ends_with(file))
            .unwrap();
        writable(&target);
        let mut bytes = std::fs::read(&target).unwrap();
        // A byte of the fan-out table (past the 8- or 12-byte header).
        bytes[100] ^= 0x01;
        std::fs::write(&target, &bytes).unwrap();
        incomplete_saying(d, &["scan", "--git", "-f", "json"], "fails its checksum");
    }
}

/// tester helper-114 (session 16) #2: a loose tree replaced by another tree's file (the commit
/// that added a secret made to list the old file) hides the blob it no longer names; trees read
/// are hashed against their ids, so the scan is incomplete, exit 2.
#[test]
fn a_replaced_loose_tree_makes_the_scan_incomplete() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    leaked_in_second_commit(d, 62);
    write(d, "a.cfg", "port = 8080\n");
    commit(d, 3, "Ann", "c3");
    expect_exit(&run(d, &["scan", "--git"]), 1);
    overwrite_loose(d, "HEAD~1^{tree}", "HEAD~2^{tree}");
    incomplete_saying(
        d,
        &["scan", "--git", "-f", "json"],
        "does not hash to its id",
    );
}

/// tester helper-114 (session 16) #4: when the parent's version of a file cannot be read as
/// itself (its loose file replaced by the child's), the child's secret is still reported (with
/// `--allow-incomplete`), not judged already present by a diff against the wrong bytes.
#[test]
fn a_secret_whose_parent_version_is_unreadable_is_still_reported() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    leaked_in_second_commit(d, 63);
    overwrite_loose(d, "HEAD~1:a.cfg", "HEAD:a.cfg");
    let out = run(d, &["scan", "--git", "--allow-incomplete", "-f", "json"]);
    expect_exit(&out, 1);
    let report = json(&out);
    let rules: Vec<&str> = report
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, ["github-pat"], "{report}");
}
