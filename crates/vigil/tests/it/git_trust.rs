//! What a history, staged or pre-push scan may trust, on real repositories and real pushes:
//! only what the pushed remote really has (never a stale or another remote's tracking ref), never
//! a configuration file the scanned changes modify, never a `GIT_DIR` that disagrees with the
//! path given; and metadata (authors, headers, ref names, tag names, paths) is scanned like
//! content, located without a fake file.

use crate::common;

use common::{
    commit_all as commit, expect_exit, git, git_init as init, git_output as git_env, json, run,
    token, vigil, write,
};
use std::path::{Path, PathBuf};
use std::process::Output;
use tempfile::TempDir;

/// A commit past the pre-commit hook (what `--no-verify` lets through, for the push to judge).
fn commit_unchecked(dir: &Path, msg: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--no-verify", "-m", msg]);
    git(dir, &["rev-parse", "HEAD"])
}

fn gh(seed: u64) -> String {
    token("ghp_{alnum:30}{ghcrc}", seed)
}

/// Where each finding of a JSON report is: its file, else its scope.
fn places(out: &Output) -> Vec<String> {
    let mut v: Vec<String> = json(out)
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("rule").is_some())
        .map(|f| {
            f["file"]
                .as_str()
                .or(f["scope"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    v.sort();
    v
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn pre_push_trusts_only_what_the_pushed_remote_has() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let origin = d.join("origin.git");
    let public = d.join("public.git");
    for r in [&origin, &public] {
        git(d, &["init", "-q", "--bare", r.to_str().unwrap()]);
    }
    let w = d.join("work");
    init(&w);
    write(&w, "README.md", "hello\n");
    commit(&w, "init");
    git(&w, &["remote", "add", "origin", origin.to_str().unwrap()]);
    git(&w, &["remote", "add", "public", public.to_str().unwrap()]);
    git(&w, &["push", "-q", "origin", "main"]);
    git(&w, &["push", "-q", "public", "main"]);
    // feat holds a secret; it reaches origin (before any hook), so origin/feat has it.
    git(&w, &["checkout", "-q", "-b", "feat"]);
    write(&w, "cfg.env", format!("GITHUB_TOKEN={}\n", gh(701)));
    let secret = commit(&w, "leak");
    git(&w, &["push", "-q", "origin", "feat"]);
    git(&w, &["checkout", "-q", "main"]);
    expect_exit(&run(&w, &["hook", "install", "--pre-push"]), 0);

    // b) Another remote: origin/feat says nothing about what public has.
    let out = git_env(&w, &["push", "-q", "public", "feat"], &[]);
    assert!(!out.status.success(), "pushing feat to public is refused");
    assert!(stderr(&out).contains("1 finding(s)"), "{}", stderr(&out));
    assert!(!git(&public, &["branch", "--list"]).contains("feat"));

    // a) A stale tracking ref: feat was deleted on origin (and is gone there), the local
    // origin/feat still names it. A merge of feat into main re-sends the secret.
    git(&origin, &["update-ref", "-d", "refs/heads/feat"]);
    git(&origin, &["reflog", "expire", "--expire=now", "--all"]);
    git(&origin, &["gc", "-q", "--prune=now"]);
    assert!(git(&w, &["branch", "-r"]).contains("origin/feat"));
    git(&w, &["merge", "-q", "--no-ff", "-m", "merge feat", "feat"]);
    let out = git_env(&w, &["push", "-q", "origin", "main"], &[]);
    assert!(!out.status.success(), "the merge re-sends the secret");
    assert!(stderr(&out).contains("1 finding(s)"), "{}", stderr(&out));
    // The same commit under a new name.
    let out = git_env(&w, &["push", "-q", "origin", "feat:refs/heads/feat2"], &[]);
    assert!(!out.status.success(), "feat2 is refused");

    // What the remote really has is not scanned again: with the secret on origin's main
    // (pushed past the hook), a new branch with one clean commit on top goes through.
    git(&w, &["push", "-q", "--no-verify", "origin", "main"]);
    git(&w, &["checkout", "-q", "-b", "topic"]);
    write(&w, "notes.md", "clean\n");
    let topic = commit(&w, "notes");
    let out = git_env(&w, &["push", "-q", "origin", "topic"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Not told the remote (an older hook), the scan cannot ask it: it fails closed, scanning
    // the whole new branch, and says so on one line.
    let zero = "0000000000000000000000000000000000000000";
    let mut c = vigil(&w);
    c.args(["scan", "--pre-push", "-f", "json"])
        .write_stdin(format!(
            "refs/heads/topic2 {topic} refs/heads/topic2 {zero}\n"
        ));
    let out = c.output().unwrap();
    expect_exit(&out, 1);
    assert!(
        stderr(&out).contains("could not ask the remote what it has"),
        "{}",
        stderr(&out)
    );
    let v = json(&out);
    assert_eq!(v[0]["commit"], secret.as_str());
    // Told the remote, it asks it: only the new clean commit is scanned.
    write(&w, "notes.md", "clean, again\n");
    let topic = commit(&w, "more notes");
    let mut c = vigil(&w);
    c.args(["scan", "--pre-push", "--remote", "origin", "--remote-url"])
        .arg(&origin)
        .write_stdin(format!(
            "refs/heads/topic2 {topic} refs/heads/topic2 {zero}\n"
        ));
    let out = c.output().unwrap();
    expect_exit(&out, 0);
    assert!(stderr(&out).contains("in 1 commit(s)"), "{}", stderr(&out));
}

#[test]
fn a_config_the_scanned_changes_modify_does_not_weaken_their_scan() {
    let dir = TempDir::new().unwrap();
    let w = dir.path();
    init(w);
    write(w, "README.md", "hello\n");
    let base = commit(w, "init");
    // One change adds a secret and a vigil.toml that would hide it every way it can.
    write(
        w,
        "vigil.toml",
        "[scan]\nexit_code = 0\nmax_decode_depth = 0\nallow_incomplete = true\n\n[scan.allowlist]\npaths = ['''.*''']\n",
    );
    write(w, "app.env", format!("GITHUB_TOKEN={}\n", gh(702)));
    commit(w, "leak");
    let range = format!("{base}..HEAD");
    let out = run(w, &["scan", "--git", "--range", &range]);
    expect_exit(&out, 1);
    let e = stderr(&out);
    assert!(
        e.contains("vigil.toml: the scanned changes modify this file")
            && e.contains("scan.exit_code")
            && e.contains("scan.allowlist"),
        "{e}"
    );
    // --since is a change set too.
    let out = run(w, &["scan", "--git", "--since", "2000-01-01"]);
    expect_exit(&out, 1);
    // Outside the changes that modify it, the file applies as before, and its exit_code = 0
    // is named with its line.
    write(w, "more.txt", "x\n");
    commit(w, "more");
    let out = run(w, &["scan", "--git", "--range", "HEAD~1..HEAD"]);
    expect_exit(&out, 0);
    assert!(
        stderr(&out).contains("vigil.toml:2: scan.exit_code"),
        "{}",
        stderr(&out)
    );
    // What its allowlist hid is counted in the summary, naming the file.
    assert!(
        stderr(&out).contains("input(s) skipped by vigil.toml allowlist"),
        "{}",
        stderr(&out)
    );

    // --staged: a .gitleaks.toml staged with the secret does not allowlist it.
    let s = TempDir::new().unwrap();
    let w = s.path();
    init(w);
    write(w, "README.md", "hello\n");
    commit(w, "init");
    write(
        w,
        ".gitleaks.toml",
        "[extend]\nuseDefault = true\n\n[allowlist]\nregexes = ['''ghp_''']\nstopwords = ['''ghp''']\n",
    );
    write(w, "app.env", format!("GITHUB_TOKEN={}\n", gh(703)));
    git(w, &["add", "-A"]);
    let out = run(w, &["scan", "--staged"]);
    expect_exit(&out, 1);
    assert!(
        stderr(&out).contains(".gitleaks.toml: the scanned changes modify this file"),
        "{}",
        stderr(&out)
    );
    // Committed before, it applies to a later change, but its regexes and stopwords never
    // hide a built-in provider's token (bb-scan-s9 F8); its path allowlist does apply.
    std::fs::remove_file(w.join("app.env")).unwrap();
    commit(w, "config");
    write(w, "app.env", format!("GITHUB_TOKEN={}\n", gh(703)));
    git(w, &["add", "-A"]);
    let out = run(w, &["scan", "--staged"]);
    expect_exit(&out, 1);
    std::fs::remove_file(w.join("app.env")).unwrap();
    write(
        w,
        ".gitleaks.toml",
        "[extend]\nuseDefault = true\n\n[allowlist]\npaths = ['^app\\.env$']\n",
    );
    git(w, &["add", "-A"]);
    commit(w, "paths");
    write(w, "app.env", format!("GITHUB_TOKEN={}\n", gh(703)));
    git(w, &["add", "-A"]);
    let out = run(w, &["scan", "--staged"]);
    expect_exit(&out, 0);
    assert!(
        stderr(&out).contains("by ./.gitleaks.toml allowlist"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn git_dir_and_a_path_that_disagree_are_refused() {
    let dir = TempDir::new().unwrap();
    let clean = dir.path().join("clean");
    let leaky = dir.path().join("leaky");
    for (r, body) in [
        (&clean, "hello\n".to_owned()),
        (&leaky, format!("GITHUB_TOKEN={}\n", gh(704))),
    ] {
        init(r);
        write(r, "a.txt", body);
        commit(r, "a");
    }
    let out = vigil(dir.path())
        .args(["scan", "--git"])
        .arg(&leaky)
        .env("GIT_DIR", clean.join(".git"))
        .output()
        .unwrap();
    expect_exit(&out, 2);
    let e = stderr(&out);
    assert!(
        e.contains("GIT_DIR=") && e.contains("names another repository"),
        "{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    // In agreement, it proceeds.
    let out = vigil(dir.path())
        .args(["scan", "--git"])
        .arg(&leaky)
        .env("GIT_DIR", leaky.join(".git"))
        .output()
        .unwrap();
    expect_exit(&out, 1);
    let out = vigil(&leaky)
        .args(["scan", "--staged", "."])
        .env("GIT_DIR", clean.join(".git"))
        .output()
        .unwrap();
    expect_exit(&out, 2);
}

#[test]
fn metadata_ref_names_and_paths_are_scanned_and_located() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let remote = d.join("remote.git");
    git(d, &["init", "-q", "--bare", remote.to_str().unwrap()]);
    let w = d.join("work");
    init(&w);
    write(&w, "README.md", "hello\n");
    let base = commit(&w, "init");
    git(&w, &["remote", "add", "origin", remote.to_str().unwrap()]);
    git(&w, &["push", "-q", "origin", "main"]);

    // An author's name.
    let t1 = gh(705);
    let name = format!("deploy {t1}");
    let out = git_env(
        &w,
        &["commit", "-q", "--allow-empty", "-m", "clean"],
        &[("GIT_AUTHOR_NAME", &name)],
    );
    assert!(out.status.success());
    let c1 = git(&w, &["rev-parse", "HEAD"]);
    // A path.
    let t2 = gh(706);
    write(&w, &format!("cfg/{t2}"), "nothing here\n");
    let c2 = commit(&w, "add a file");
    // An extra commit header.
    let t3 = gh(707);
    let raw = git(&w, &["cat-file", "commit", "HEAD"]);
    let (head, body) = raw.split_once("\n\n").unwrap();
    let forged = format!("{head}\nx-note {t3}\n\n{body}\n");
    let path = write(&w, "forged.txt", forged);
    let c3 = git(
        &w,
        &["hash-object", "-t", "commit", "-w", path.to_str().unwrap()],
    );
    std::fs::remove_file(&path).unwrap();
    git(&w, &["update-ref", "refs/heads/main", &c3]);
    // A branch name.
    let t4 = gh(708);
    git(&w, &["branch", &format!("leak-{t4}"), &base]);

    let out = run(&w, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for t in [&t1, &t2, &t3, &t4] {
        assert!(
            !stdout.contains(t.as_str()),
            "never printed, even in a location"
        );
    }
    let p = places(&out);
    assert_eq!(p.len(), 4, "{p:?}");
    assert!(p.contains(&format!("commit {c1} author")), "{p:?}");
    assert!(p.contains(&format!("commit {c3} header x-note")), "{p:?}");
    assert!(p.iter().any(|x| x.starts_with("cfg/ghp_")), "{p:?}");
    assert!(
        p.iter().any(|x| x.starts_with("ref refs/heads/leak-ghp_")),
        "{p:?}"
    );
    let v = json(&out);
    let path_finding = v
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"].as_str().is_some_and(|f| f.starts_with("cfg/")))
        .unwrap();
    // c3 replaced c2 (same parent, same tree, one more header): main reaches c3 only.
    assert_eq!(path_finding["commit"], c3.as_str());
    assert!(!c2.is_empty());
    // SARIF: metadata is a logical location, never a file URI.
    let out = run(&w, &["scan", "--git", "-f", "sarif"]);
    let sarif = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!sarif.contains("commit%20"), "no fake file URI");
    assert!(sarif.contains("\"logicalLocations\""));
    for format in ["text", "csv", "junit", "markdown"] {
        let out = run(&w, &["scan", "--git", "-f", format]);
        expect_exit(&out, 1);
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(s.contains(&format!("commit {c1} author")), "{format}: {s}");
    }

    // The pre-push hook scans the pushed ref names; a directory scan scans paths.
    git(&w, &["branch", "-D", &format!("leak-{t4}")]);
    let t5 = gh(709);
    let zero = "0000000000000000000000000000000000000000";
    let mut c = vigil(&w);
    c.args(["scan", "--pre-push", "-f", "json", "--remote", "origin"])
        .write_stdin(format!("HEAD {base} refs/heads/leak-{t5} {zero}\n"));
    let out = c.output().unwrap();
    expect_exit(&out, 1);
    assert_eq!(places(&out).len(), 1, "{:?}", places(&out));
    let out = run(&w, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    assert!(places(&out).iter().any(|x| x.starts_with("cfg/ghp_")));
}

#[test]
fn shallow_ranges_worktree_heads_and_refs_to_blobs() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let full = d.join("full");
    init(&full);
    for i in 0..4 {
        write(&full, "n.txt", format!("{i}\n"));
        commit(&full, &format!("c{i}"));
    }
    let s = d.join("shallow");
    let url = format!("file://{}", full.display());
    git(
        d,
        &["clone", "-q", "--depth", "2", &url, s.to_str().unwrap()],
    );
    // A walk that reaches the boundary is incomplete; a range that stays above it is whole.
    let out = run(&s, &["scan", "--git"]);
    expect_exit(&out, 2);
    assert!(stderr(&out).contains("shallow clone"), "{}", stderr(&out));
    let out = run(&s, &["scan", "--git", "--range", "HEAD~1..HEAD"]);
    expect_exit(&out, 0);
    assert!(!stderr(&out).contains("shallow"), "{}", stderr(&out));
    write(&s, "k.env", format!("GITHUB_TOKEN={}\n", gh(710)));
    let old = git(&s, &["rev-parse", "HEAD"]);
    let new = commit(&s, "leak");
    let mut c = vigil(&s);
    c.args(["scan", "--pre-push"])
        .write_stdin(format!("refs/heads/main {new} refs/heads/main {old}\n"));
    expect_exit(&c.output().unwrap(), 1);

    // A linked worktree's detached HEAD is history `git log --all` shows: scanned from the
    // main worktree.
    let m = d.join("main");
    init(&m);
    write(&m, "a.txt", "a\n");
    commit(&m, "a");
    let wt = d.join("wt");
    git(
        &m,
        &["worktree", "add", "-q", "--detach", wt.to_str().unwrap()],
    );
    write(&wt, "b.env", format!("GITHUB_TOKEN={}\n", gh(711)));
    let detached = commit(&wt, "detached leak");
    let out = run(&m, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(json(&out)[0]["commit"], detached.as_str());
    git(&m, &["worktree", "remove", "--force", wt.to_str().unwrap()]);

    // An annotated tag of a blob: valid, not "corrupt"; --all-objects scans the blob and is
    // then complete.
    let blob = git(&m, &["rev-parse", "HEAD:a.txt"]);
    git(&m, &["tag", "-a", "blobtag", "-m", "a blob", &blob]);
    let out = run(&m, &["scan", "--git"]);
    expect_exit(&out, 2);
    // The reason is in the report (stdout), once; stderr says the scan is incomplete.
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("1 ref(s) name a tree or a blob") && report.contains("refs/tags/blobtag"),
        "{report}"
    );
    let e = stderr(&out);
    assert!(e.contains("incomplete scan"), "{e}");
    assert!(!e.contains("corrupt") && !report.contains("corrupt"), "{e}");
    // (The removed worktree's commit is unreachable now: --all-objects finds it too.)
    let out = run(&m, &["scan", "--git", "--all-objects"]);
    expect_exit(&out, 1);
    assert!(!stderr(&out).contains("incomplete"), "{}", stderr(&out));
}

#[test]
fn a_found_config_cannot_redefine_a_built_in_rule_away() {
    // bb-git-s7 #5: `[[rules]] id = "github-pat"` with a pattern that never matches, found beside
    // the code (directory scan, and committed, in history), turned the built-in rule off.
    let d = TempDir::new().unwrap();
    let d = d.path();
    init(d);
    write(d, "t.txt", format!("v={}\n", gh(71)));
    write(
        d,
        ".gitleaks.toml",
        "[extend]\nuseDefault = true\n[[rules]]\nid = 'github-pat'\nregex = '''qq[0-9]{40}'''\n",
    );
    for args in [
        &["scan", ".", "-f", "json"][..],
        &["scan", "--git", "-f", "json"][..],
    ] {
        if args[1] == "--git" {
            git(d, &["add", "-A"]);
            commit(d, "token and a config");
        }
        let out = run(d, args);
        expect_exit(&out, 1);
        assert_eq!(places(&out), ["t.txt"], "{args:?}");
        assert!(
            stderr(&out).contains("github-pat-custom"),
            "the warning says what became of the rule: {}",
            stderr(&out)
        );
    }
    // An allowlist alone still merges into the built-in rule, and what it hid is counted.
    write(
        d,
        ".gitleaks.toml",
        "[extend]\nuseDefault = true\n[[rules]]\nid = 'github-pat'\n[[rules.allowlists]]\npaths = ['''t\\.txt''']\n",
    );
    let out = run(d, &["scan", ".", "-f", "json"]);
    expect_exit(&out, 0);
    assert!(stderr(&out).contains("suppressed"), "{}", stderr(&out));
}

#[test]
fn a_found_config_cannot_allowlist_every_path() {
    // helper-115 #4: a committed `.gitleaks.toml` with `[[allowlists]] paths = ['.*']` silenced
    // the directory scan and the whole history, with no warning.
    let d = TempDir::new().unwrap();
    let d = d.path();
    init(d);
    write(d, "src/app.py", format!("v = \"{}\"\n", gh(72)));
    write(d, "fixtures/t.py", format!("v = \"{}\"\n", gh(73)));
    for blanket in [
        "'''.*'''",
        "'''.'''",
        r"'''(?i)\.(py|js|go|rs|yaml|md|sh|java|env)$'''",
        r"'''(^|/)[^/]*\.(env|py|txt)$'''",
    ] {
        write(
            d,
            ".gitleaks.toml",
            format!("[[allowlists]]\npaths = [{blanket}, '''^fixtures/''']\n"),
        );
        commit(d, "a config");
        for args in [
            &["scan", ".", "-f", "json"][..],
            &["scan", "--git", "-f", "json"][..],
        ] {
            let out = run(d, args);
            expect_exit(&out, 1);
            // The fixtures folder stays allowlisted; the blanket pattern is not applied.
            assert_eq!(places(&out), ["src/app.py"], "{blanket} {args:?}");
            let err = stderr(&out);
            assert!(err.contains("so they are not applied"), "{err}");
            assert!(
                !err.contains("replaces the built-in rules"),
                "a file of allowlists alone adds to the built-in rules: {err}"
            );
        }
    }
    // Named with --config, the file applies as it is.
    let out = run(
        d,
        &["scan", ".", "--config", ".gitleaks.toml", "-f", "json"],
    );
    expect_exit(&out, 0);
}

#[test]
fn an_ignore_file_or_baseline_the_changes_modify_does_not_hide_their_secret() {
    // bb-git-s7 #3: a change that adds its own secret to `.gitleaksignore` passed the hook and CI.
    let d = TempDir::new().unwrap();
    let d = d.path();
    init(d);
    write(d, "README.md", "hello\n");
    git(d, &["add", "-A"]);
    commit(d, "base");
    write(d, "t.txt", format!("v={}\n", gh(73)));
    git(d, &["add", "t.txt"]);
    let out = run(d, &["scan", "--staged", "-f", "json"]);
    expect_exit(&out, 1);
    let fp = json(&out)[0]["fingerprint"].as_str().unwrap().to_owned();
    let hash = json(&out)[0]["hash"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    write(d, ".gitleaksignore", format!("{fp}\n{hash}\n"));
    git(d, &["add", ".gitleaksignore"]);
    let out = run(d, &["scan", "--staged", "-f", "json"]);
    expect_exit(&out, 1);
    assert!(
        stderr(&out).contains(".gitleaksignore: the scanned changes modify this file"),
        "{}",
        stderr(&out)
    );
    commit(d, "secret and its ignore line");
    let out = run(
        d,
        &["scan", "--git", "--range", "HEAD~1..HEAD", "-f", "json"],
    );
    expect_exit(&out, 1);
    assert_eq!(places(&out), ["t.txt"]);
}

/// bb-git-s7 #4: `url.*.insteadOf` / `pushInsteadOf` rewrites. `git push` sends to the URL it
/// resolves for push (`pushInsteadOf`, `pushurl`); `git ls-remote` of that URL would apply
/// `insteadOf` again and ask another repository (a read mirror holding the secret). The scan asks
/// exactly the repository pushed to: the hook's `$2` as git gives it, or, told only the remote's
/// name, the push URL git resolves for it.
#[test]
fn insteadof_rewrites_never_make_the_scan_ask_another_repository() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let io = d.join("io.git");
    let iopub = d.join("iopub.git");
    for r in [&io, &iopub] {
        git(d, &["init", "-q", "--bare", r.to_str().unwrap()]);
    }
    let w = d.join("work");
    init(&w);
    write(&w, "README.md", "hello\n");
    commit(&w, "init");
    write(&w, "cfg.env", format!("GITHUB_TOKEN={}\n", gh(711)));
    let secret = commit(&w, "leak");
    git(&w, &["remote", "add", "origin", io.to_str().unwrap()]);
    git(&w, &["push", "-q", "origin", "main"]);
    // A read mirror set-up: `pub` pushes to iopub.git (pushInsteadOf), and reading iopub.git is
    // rewritten to io.git (insteadOf, by a prefix), which holds the secret.
    let (io_s, iopub_s) = (io.to_str().unwrap(), iopub.to_str().unwrap());
    let (io_prefix, iopub_prefix) = (d.join("io"), d.join("iopub"));
    let (io_p, iopub_p) = (io_prefix.to_str().unwrap(), iopub_prefix.to_str().unwrap());
    git(&w, &["remote", "add", "pub", "pubalias:x"]);
    git(
        &w,
        &[
            "config",
            &format!("url.{iopub_s}.pushInsteadOf"),
            "pubalias:x",
        ],
    );
    git(&w, &["config", &format!("url.{io_p}.insteadOf"), iopub_p]);
    assert_eq!(git(&w, &["ls-remote", "--get-url", iopub_s]), io_s);
    expect_exit(&run(&w, &["hook", "install", "--pre-push"]), 0);
    // A (stale) tracking ref of `pub` names the secret commit: only the question to the right
    // repository keeps it from being trusted.
    git(&w, &["update-ref", "refs/remotes/pub/main", &secret]);

    // a) Through the hook: git gives `$2` = iopub.git, which has nothing.
    let out = git_env(&w, &["push", "-q", "pub", "main"], &[]);
    assert!(!out.status.success(), "the secret reached iopub.git");
    assert!(stderr(&out).contains("1 finding(s)"), "{}", stderr(&out));
    assert!(git(&iopub, &["branch", "--list"]).is_empty());

    // b) Told only the remote's name: its push URL (pushInsteadOf) is asked, not its fetch URL.
    let zero = "0000000000000000000000000000000000000000";
    let mut c = vigil(&w);
    c.args(["scan", "--pre-push", "--remote", "pub", "-f", "json"])
        .write_stdin(format!("refs/heads/main {secret} refs/heads/main {zero}\n"));
    let out = c.output().unwrap();
    expect_exit(&out, 1);
    assert_eq!(json(&out)[0]["commit"], secret.as_str());

    // What iopub.git really has is trusted: once main is there (past the hook), a clean
    // branch on top of it scans one commit.
    git(&w, &["push", "-q", "--no-verify", "pub", "main"]);
    git(&w, &["checkout", "-q", "-b", "topic"]);
    write(&w, "notes.md", "clean\n");
    commit(&w, "notes");
    let out = git_env(&w, &["push", "-q", "pub", "topic"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("in 1 commit(s)"), "{}", stderr(&out));

    // A rewrite of exactly the push URL cannot be turned off for one question (git takes the
    // first of two equally long rewrites): the remote is not asked, and the scan fails closed,
    // saying why.
    git(&w, &["config", &format!("url.{io_s}.insteadOf"), iopub_s]);
    write(&w, "notes.md", "clean, again\n");
    commit(&w, "more notes");
    let out = git_env(&w, &["push", "-q", "pub", "topic:refs/heads/topic2"], &[]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("git would ask"), "{}", stderr(&out));
}

/// bb-git-s7 #6, #7, #8: the configuration at the base of a change set applies to it. A change
/// that deletes `vigil.toml` keeps its custom rules for its own scan; one that edits a file the
/// configuration pulls in through `[extend] path` is distrusted like the file itself; a push
/// made with another branch checked out (whose configuration allowlists everything) and an
/// unstaged edit of a tracked `vigil.toml` do not decide the scan of what is pushed or staged.
#[test]
fn the_base_configuration_applies_to_changes_that_delete_extend_or_swap_it() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let remote = d.join("r.git");
    git(d, &["init", "-q", "--bare", remote.to_str().unwrap()]);
    let w = d.join("w");
    init(&w);
    write(
        &w,
        "vigil.toml",
        "[scan]\n\n[[scan.rules]]\nid = 'orch'\ndescription = 'orchestrator key'\nregex = '''orch_[a-z0-9]{32}'''\n\n[scan.extend]\npath = 'x.toml'\n",
    );
    write(&w, "x.toml", "title = 'extra'\n");
    write(&w, "README.md", "hello\n");
    commit(&w, "base");
    git(&w, &["remote", "add", "origin", remote.to_str().unwrap()]);
    git(&w, &["push", "-q", "origin", "main"]);
    expect_exit(&run(&w, &["hook", "install", "--pre-push"]), 0);
    let orch = token("orch_{lower:32}", 721);

    // #7: the change deletes the configuration and adds a key only its custom rule finds.
    git(&w, &["rm", "-q", "vigil.toml"]);
    write(&w, "s.txt", format!("note {orch}\n"));
    commit_unchecked(&w, "drop the config");
    expect_exit(&run(&w, &["scan", "s.txt"]), 0); // the built-in rules alone miss it
    let out = git_env(&w, &["push", "-q", "origin", "main"], &[]);
    assert!(!out.status.success(), "pushed: {}", stderr(&out));
    assert!(
        stderr(&out).contains("the configuration at the base of the scanned changes"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &w,
        &["scan", "--git", "--range", "HEAD~1..HEAD", "-f", "json"],
    );
    expect_exit(&out, 1);
    let rules: Vec<String> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(rules.contains(&"orch".to_owned()), "{rules:?}");
    git(&w, &["reset", "-q", "--hard", "HEAD~1"]);

    // #6: the change edits the file `[extend] path` pulls in, to allowlist every path.
    write(&w, "x.toml", "[allowlist]\npaths = ['''.*''']\n");
    write(&w, "t.txt", format!("GITHUB_TOKEN={}\n", gh(722)));
    commit_unchecked(&w, "extend away");
    let out = git_env(&w, &["push", "-q", "origin", "main"], &[]);
    assert!(!out.status.success(), "pushed: {}", stderr(&out));
    assert!(stderr(&out).contains("1 finding(s)"), "{}", stderr(&out));
    let out = run(&w, &["scan", "--git", "--range", "HEAD~1..HEAD"]);
    expect_exit(&out, 1);
    assert!(stderr(&out).contains("extend.path"), "{}", stderr(&out));
    git(&w, &["reset", "-q", "--hard", "HEAD~1"]);

    // #8: `exp` (on the remote) allowlists everything; `feat`, from main, adds a token and is
    // pushed while `exp` is checked out.
    git(&w, &["checkout", "-q", "-b", "exp"]);
    write(&w, "vigil.toml", "[scan.allowlist]\npaths = ['''.*''']\n");
    commit_unchecked(&w, "allow all");
    git(&w, &["push", "-q", "--no-verify", "origin", "exp"]);
    git(&w, &["checkout", "-q", "-b", "feat", "main"]);
    write(&w, "t.txt", format!("GITHUB_TOKEN={}\n", gh(723)));
    commit_unchecked(&w, "feature");
    git(&w, &["checkout", "-q", "exp"]);
    let out = git_env(&w, &["push", "-q", "origin", "feat"], &[]);
    assert!(!out.status.success(), "pushed: {}", stderr(&out));
    assert!(stderr(&out).contains("1 finding(s)"), "{}", stderr(&out));
    assert!(!git(&remote, &["branch", "--list"]).contains("feat"));

    // --staged: an unstaged edit of the tracked vigil.toml does not decide the index's scan.
    git(&w, &["checkout", "-q", "main"]);
    write(&w, "vigil.toml", "[scan.allowlist]\npaths = ['''.*''']\n");
    write(&w, "u.txt", format!("GITHUB_TOKEN={}\n", gh(724)));
    git(&w, &["add", "u.txt"]);
    expect_exit(&run(&w, &["scan", "--staged"]), 1);
    git(&w, &["reset", "-q", "--hard"]);
    let _ = std::fs::remove_file(w.join("u.txt"));

    // Where the base and the working tree agree, nothing changes: a clean push goes through
    // without a word about the base.
    write(&w, "notes.md", "clean\n");
    commit(&w, "notes");
    let out = git_env(&w, &["push", "-q", "origin", "main"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("base of the scanned changes"),
        "{}",
        stderr(&out)
    );

    // A file named with --config is the configuration, as given, even when the changes edit
    // it (gitleaks's CI form); that they do is said.
    write(&w, ".gitleaks.toml", "[allowlist]\npaths = ['''.*''']\n");
    write(&w, "v.txt", format!("GITHUB_TOKEN={}\n", gh(725)));
    commit_unchecked(&w, "named config");
    let out = run(
        &w,
        &[
            "scan",
            "--git",
            "--range",
            "HEAD~1..HEAD",
            "--config",
            ".gitleaks.toml",
        ],
    );
    expect_exit(&out, 0);
    assert!(
        stderr(&out).contains(".gitleaks.toml: named with --config, it applies as it is"),
        "{}",
        stderr(&out)
    );
}

/// bb-git-s7 #11: a lying remote. `ls-remote` hears upload-pack, a push talks to receive-pack;
/// a remote that advertises a local secret commit it lacks (and hides that ref from pushes,
/// `receive.hideRefs`) would have git send the commit while the scan skipped it. An advertised
/// commit is trusted only where a remote-tracking ref of that remote points at it.
#[test]
fn a_remote_advertising_a_commit_it_lacks_does_not_hide_it() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let remote = d.join("r.git");
    git(d, &["init", "-q", "--bare", remote.to_str().unwrap()]);
    let w = d.join("w");
    init(&w);
    write(&w, "README.md", "hello\n");
    commit(&w, "init");
    git(&w, &["remote", "add", "origin", remote.to_str().unwrap()]);
    git(&w, &["push", "-q", "origin", "main"]);
    git(&w, &["checkout", "-q", "-b", "sec"]);
    write(&w, "cfg.env", format!("GITHUB_TOKEN={}\n", gh(731)));
    let secret = commit(&w, "leak");
    git(&w, &["checkout", "-q", "main"]);
    // The remote lies: it advertises the secret commit (which it does not hold) to
    // `ls-remote`, and hides that ref from pushes.
    write(&remote, "refs/heads/fake", format!("{secret}\n"));
    git(&remote, &["config", "receive.hideRefs", "refs/heads/fake"]);
    assert!(git(&w, &["ls-remote", "origin"]).contains(&secret));
    expect_exit(&run(&w, &["hook", "install", "--pre-push"]), 0);
    let out = git_env(&w, &["push", "-q", "origin", "sec:refs/heads/nb2"], &[]);
    assert!(
        !out.status.success(),
        "the secret was sent: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("1 finding(s)"), "{}", stderr(&out));
    assert!(!git(&remote, &["branch", "--list"]).contains("nb2"));
}

/// A repository with a bare remote `origin` holding `main`, and vigil's pre-push hook.
fn pushed_repo(d: &Path) -> (PathBuf, PathBuf) {
    let remote = d.join("r.git");
    git(d, &["init", "-q", "--bare", remote.to_str().unwrap()]);
    let w = d.join("w");
    init(&w);
    write(&w, "README.md", "hello\n");
    commit(&w, "init");
    git(&w, &["remote", "add", "origin", remote.to_str().unwrap()]);
    git(&w, &["push", "-q", "origin", "main"]);
    expect_exit(&run(&w, &["hook", "install", "--pre-push"]), 0);
    (w, remote)
}

/// bb-git-s8 #2: a built-in rule was silently replaced by a same-id rule from a file a
/// discovered configuration pulls in through `[extend] path` (any level), or from a discovered
/// `vigil.toml`. Committed and pushed first (so it is the base, trusted), it then let every
/// GitHub PAT through the hook, `--range` and a whole `--git`. Now such a rule is added beside the
/// built-in as `github-pat-custom`, with a warning, in every mode.
#[test]
fn a_same_id_rule_from_an_extended_file_never_replaces_a_built_in() {
    let never = "[[rules]]\nid = 'github-pat'\nregex = '''(zzzz)'''\n";
    let layouts: [&[(&str, &str)]; 4] = [
        &[
            (
                ".gitleaks.toml",
                "[extend]\nuseDefault = true\npath = 'x.toml'\n",
            ),
            ("x.toml", never),
        ],
        &[
            (
                ".gitleaks.toml",
                "[extend]\nuseDefault = true\npath = 'x.toml'\n",
            ),
            ("x.toml", "[extend]\npath = 'y.toml'\n"),
            ("y.toml", never),
        ],
        &[
            ("vigil.toml", "[scan.extend]\npath = 'x.toml'\n"),
            ("x.toml", never),
        ],
        &[(
            "vigil.toml",
            "[[scan.rules]]\nid = 'github-pat'\nregex = '''(zzzz)'''\n",
        )],
    ];
    for (i, files) in layouts.iter().enumerate() {
        let dir = TempDir::new().unwrap();
        let (w, _) = pushed_repo(dir.path());
        for (name, body) in files.iter() {
            write(&w, name, body);
        }
        commit(&w, "config");
        git(&w, &["push", "-q", "origin", "main"]);
        write(&w, "s.txt", format!("v={}\n", gh(740 + i as u64)));
        // The pre-commit hook refuses it.
        git(&w, &["add", "s.txt"]);
        let out = git_env(&w, &["commit", "-q", "-m", "s"], &[]);
        assert!(!out.status.success(), "{i}: committed: {}", stderr(&out));
        assert!(
            stderr(&out).contains("github-pat-custom"),
            "{i}: {}",
            stderr(&out)
        );
        commit_unchecked(&w, "s");
        let out = git_env(&w, &["push", "-q", "origin", "main"], &[]);
        assert!(!out.status.success(), "{i}: pushed: {}", stderr(&out));
        for args in [
            &["scan", ".", "-f", "json"][..],
            &["scan", "--git", "-f", "json"][..],
            &["scan", "--git", "--range", "HEAD~1..HEAD", "-f", "json"][..],
        ] {
            let out = run(&w, args);
            expect_exit(&out, 1);
            assert!(
                places(&out).contains(&"s.txt".to_owned()),
                "{i} {args:?}: {:?}",
                places(&out)
            );
            assert!(
                stderr(&out).contains("redefines the built-in rules github-pat"),
                "{i} {args:?}: {}",
                stderr(&out)
            );
        }
    }
}

/// bb-git-s8 #4: with no base commit (a new orphan ref, the first commit of a repository) the
/// working tree's configuration decided alone: an allowlist-everything `vigil.toml` on the
/// checked-out branch let an orphan branch's secret be pushed, and an untracked one let the
/// first commit through. The built-in configuration now stands for the missing base.
#[test]
fn changes_without_a_base_commit_are_scanned_with_the_built_in_rules_too() {
    let dir = TempDir::new().unwrap();
    let (w, remote) = pushed_repo(dir.path());
    git(&w, &["checkout", "-q", "-b", "exp"]);
    write(&w, "vigil.toml", "[scan.allowlist]\npaths = ['''.*''']\n");
    commit_unchecked(&w, "allow everything");
    git(&w, &["checkout", "-q", "--orphan", "o"]);
    git(&w, &["rm", "-rqf", "."]);
    write(&w, "t.txt", format!("v={}\n", gh(750)));
    commit_unchecked(&w, "orphan");
    git(&w, &["checkout", "-q", "exp"]);
    let out = git_env(&w, &["push", "-q", "origin", "o"], &[]);
    assert!(!out.status.success(), "pushed: {}", stderr(&out));
    assert!(stderr(&out).contains("no base commit"), "{}", stderr(&out));
    assert!(!git(&remote, &["branch", "--list"]).contains('o'));
    let out = run(&w, &["scan", "--git", "--range", "main..o", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(places(&out), ["t.txt"]);

    // The first commit of a new repository, with an untracked allowlist `vigil.toml`.
    let first = dir.path().join("first");
    init(&first);
    expect_exit(&run(&first, &["hook", "install"]), 0);
    write(
        &first,
        "vigil.toml",
        "[scan.allowlist]\npaths = ['''.*''']\n",
    );
    write(&first, "t.txt", format!("v={}\n", gh(751)));
    git(&first, &["add", "t.txt"]);
    let out = git_env(&first, &["commit", "-q", "-m", "first"], &[]);
    assert!(!out.status.success(), "committed: {}", stderr(&out));
    assert!(
        stderr(&out).contains("1 finding(s) in the index"),
        "{}",
        stderr(&out)
    );

    // A base whose configuration cannot be used (its `[extend] path` names a git-ignored
    // per-developer file) is replaced by the built-ins, never by the working tree's alone.
    let dir = TempDir::new().unwrap();
    let (w, _) = pushed_repo(dir.path());
    write(
        &w,
        ".gitleaks.toml",
        "[extend]\nuseDefault = true\npath = 'local.toml'\n",
    );
    write(&w, ".gitignore", "local.toml\n");
    write(&w, "local.toml", "");
    commit(&w, "config");
    git(&w, &["push", "-q", "origin", "main"]);
    write(&w, "local.toml", "[allowlist]\npaths = ['''.*''']\n");
    write(&w, "s.txt", format!("v={}\n", gh(752)));
    commit_unchecked(&w, "s");
    let out = git_env(&w, &["push", "-q", "origin", "main"], &[]);
    assert!(!out.status.success(), "pushed: {}", stderr(&out));
    assert!(
        stderr(&out).contains("the built-in rules apply in its place"),
        "{}",
        stderr(&out)
    );
}

/// bb-git-s8 #5: the `.gitleaksignore` of the checked-out branch (or an unstaged or untracked
/// one) decided the scan of a pushed ref or of the index. Only the version at the base of the
/// changes applies now.
#[test]
fn a_gitleaksignore_off_the_base_does_not_decide_for_the_changes() {
    let dir = TempDir::new().unwrap();
    let (w, remote) = pushed_repo(dir.path());
    git(&w, &["checkout", "-q", "-b", "feat"]);
    write(&w, "t.txt", format!("v={}\n", gh(760)));
    let report = run(&w, &["scan", "t.txt", "-f", "json"]);
    let hash = json(&report)[0]["hash"].as_str().unwrap().to_owned();
    commit_unchecked(&w, "secret");
    git(&w, &["checkout", "-q", "main"]);
    git(&w, &["checkout", "-q", "-b", "exp"]);
    write(&w, ".gitleaksignore", format!("{hash}\n"));
    commit_unchecked(&w, "ignore it");
    let out = git_env(&w, &["push", "-q", "origin", "feat"], &[]);
    assert!(!out.status.success(), "pushed: {}", stderr(&out));
    assert!(
        stderr(&out).contains("not the one at the base of the scanned changes"),
        "{}",
        stderr(&out)
    );
    assert!(!git(&remote, &["branch", "--list"]).contains("feat"));

    // The index: an untracked `.gitleaksignore` does not silence a staged secret.
    git(&w, &["checkout", "-q", "main"]);
    std::fs::remove_file(w.join(".gitleaksignore")).ok();
    write(&w, "t.txt", format!("v={}\n", gh(760)));
    write(&w, ".gitleaksignore", format!("{hash}\n"));
    git(&w, &["add", "t.txt"]);
    let out = run(&w, &["scan", "--staged"]);
    expect_exit(&out, 1);
    // Committed, it applies as the base's (a reviewed entry).
    git(&w, &["reset", "-q", "t.txt"]);
    git(&w, &["add", ".gitleaksignore"]);
    git_env(&w, &["commit", "-q", "--no-verify", "-m", "ignore"], &[]);
    git(&w, &["add", "t.txt"]);
    expect_exit(&run(&w, &["scan", "--staged"]), 0);
}

/// bb-git-s8 #9: a submodule gitlink's path is a name git records and sends; one holding a token
/// was never scanned (`--staged`, `--range`, the pre-push hook). A blob at that path always was.
#[test]
fn a_gitlink_named_with_a_secret_is_found() {
    let dir = TempDir::new().unwrap();
    let (w, remote) = pushed_repo(dir.path());
    let head = git(&w, &["rev-parse", "HEAD"]);
    let name = gh(770);
    for path in [name.clone(), format!("{name}x/sub")] {
        git(
            &w,
            &[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("160000,{head},{path}"),
            ],
        );
    }
    let out = run(&w, &["scan", "--staged", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(json(&out).as_array().unwrap().len(), 2, "{}", stderr(&out));
    git_env(&w, &["commit", "-q", "--no-verify", "-m", "links"], &[]);
    let out = run(
        &w,
        &["scan", "--git", "--range", "HEAD~1..HEAD", "-f", "json"],
    );
    expect_exit(&out, 1);
    assert_eq!(json(&out).as_array().unwrap().len(), 2, "{}", stderr(&out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(&name[4..]),
        "the name is masked"
    );
    let out = git_env(&w, &["push", "-q", "origin", "main"], &[]);
    assert!(!out.status.success(), "pushed: {}", stderr(&out));
    assert_ne!(
        git(&remote, &["rev-parse", "main"]),
        git(&w, &["rev-parse", "HEAD"])
    );
    // An unrelated later commit does not report the gitlink again.
    write(&w, "n.txt", "n\n");
    commit_unchecked(&w, "n");
    expect_exit(&run(&w, &["scan", "--git", "--range", "HEAD~1..HEAD"]), 0);
}

/// bb-git-s8 #8: a token in an scp-like push URL's user part, or in a URL's path or fragment,
/// was printed in full when `ls-remote` failed.
#[test]
fn a_token_in_a_push_url_is_never_printed() {
    let dir = TempDir::new().unwrap();
    let w = dir.path().join("w");
    init(&w);
    write(&w, "README.md", "hello\n");
    let head = commit(&w, "init");
    let t = gh(780);
    for url in [
        format!("{t}@127.0.0.1:x.git"),
        format!("http://127.0.0.1:9/{t}/x.git"),
        format!("http://127.0.0.1:9/x.git#{t}"),
    ] {
        let out = vigil(&w)
            .args([
                "scan",
                "--pre-push",
                "--remote",
                "origin",
                "--remote-url",
                &url,
            ])
            .env("GIT_SSH_COMMAND", "false")
            .write_stdin(format!(
                "refs/heads/n {head} refs/heads/n 0000000000000000000000000000000000000000\n"
            ))
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(err.contains("could not ask the remote"), "{url}: {err}");
        assert!(!err.contains(&t[4..]), "{url}: {err}");
    }
}

/// git runs the pre-push hook with no line when nothing is pushed ("Everything up-to-date"):
/// vigil's own hook then scans nothing (an unpushed branch holding a secret does not block it),
/// while the same empty input from a hook manager that lost git's stdin scans every local ref.
#[test]
fn a_push_of_nothing_passes_vigils_own_hook() {
    let dir = TempDir::new().unwrap();
    let (w, _) = pushed_repo(dir.path());
    git(&w, &["checkout", "-q", "-b", "wip"]);
    write(&w, "t.txt", format!("v={}\n", gh(790)));
    commit_unchecked(&w, "wip");
    git(&w, &["checkout", "-q", "main"]);
    let out = git_env(&w, &["push", "origin", "main"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Everything up-to-date"),
        "{}",
        stderr(&out)
    );
    let out = vigil(&w)
        .args(["scan", "--pre-push", "--remote", "origin"])
        .write_stdin("")
        .output()
        .unwrap();
    expect_exit(&out, 1);
}

/// bb-git-s8 #11: two configurations that are silently not read: a `.gitleaks.toml` beside a
/// `vigil.toml` with a `[scan]` section, and the top-level `vigil.toml` of a scan run from a
/// subfolder. Each is named in a warning.
#[test]
fn configurations_that_are_not_read_are_named() {
    let dir = TempDir::new().unwrap();
    let w = dir.path().join("w");
    init(&w);
    write(&w, "vigil.toml", "[scan]\nexit_code = 1\n");
    write(
        &w,
        ".gitleaks.toml",
        "[[rules]]\nid = 'orch'\nregex = '''orch_[a-z0-9]{32}'''\n",
    );
    write(&w, "sub/a.txt", "a\n");
    commit(&w, "init");
    let out = run(&w, &["scan", "."]);
    assert!(
        stderr(&out).contains(".gitleaks.toml: not read, since vigil.toml has a [scan] section"),
        "{}",
        stderr(&out)
    );
    let out = run(&w.join("sub"), &["scan", "--staged"]);
    assert!(
        stderr(&out).contains("vigil.toml: not read, since the scan runs in a subfolder"),
        "{}",
        stderr(&out)
    );
}

/// bb-git-s9 F1: a secret in a Git LFS-tracked file is in the pointer's content, which git keeps
/// in `.git/lfs/objects` and git-lfs's own pre-push uploads. The staged, pre-push and history
/// scans read that content (real git-lfs); a pointer whose content is not on this machine makes
/// the history scan incomplete (exit 2), never clean.
#[test]
fn git_lfs_content_is_scanned_and_its_absence_is_never_clean() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let origin = d.join("origin.git");
    git(d, &["init", "-q", "--bare", origin.to_str().unwrap()]);
    let w = d.join("work");
    init(&w);
    git(&w, &["lfs", "install", "--local"]);
    git(&w, &["lfs", "track", "*.key"]);
    write(&w, "README.md", "hello\n");
    commit(&w, "init");
    git(&w, &["remote", "add", "origin", origin.to_str().unwrap()]);
    git(&w, &["push", "-q", "origin", "main"]);
    let secret = gh(731);
    write(&w, "deploy.key", format!("v={secret}\n"));
    git(&w, &["add", "deploy.key"]);
    // What git records is the pointer, not the token.
    let staged = git(&w, &["show", ":deploy.key"]);
    assert!(
        staged.starts_with("version https://git-lfs.github.com/spec/v1"),
        "{staged}"
    );
    let out = run(&w, &["scan", "--staged", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(places(&out), ["deploy.key"]);
    commit_unchecked(&w, "key");
    let out = git_env(&w, &["push", "-q", "origin", "main"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    expect_exit(&run(&w, &["hook", "install", "--pre-push"]), 0);
    write(&w, "other.key", format!("w={}\n", gh(732)));
    commit_unchecked(&w, "another key");
    let out = git_env(&w, &["push", "-q", "origin", "main"], &[]);
    assert!(
        !out.status.success(),
        "the pre-push hook refuses the LFS content"
    );
    assert!(stderr(&out).contains("1 finding(s)"), "{}", stderr(&out));
    let out = run(&w, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 1);
    assert_eq!(places(&out), ["deploy.key", "other.key"]);
    // A clone without the LFS content (GIT_LFS_SKIP_SMUDGE, no fetch): incomplete, exit 2.
    let c = d.join("clone");
    let out = git_env(
        d,
        &["clone", "-q", origin.to_str().unwrap(), c.to_str().unwrap()],
        &[("GIT_LFS_SKIP_SMUDGE", "1")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&c, &["scan", "--git", "-f", "json"]);
    expect_exit(&out, 2);
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(all.contains("LFS object sha256:"), "{all}");
    assert!(!all.contains(&secret), "{all}");
}
