//! The history cache of `vigil scan --git` on real repositories: a second scan reads known
//! commits from `.git/vigil/history-cache` and still reports their findings; a rule change, a
//! tampered or foreign file, another version's file are ignored; concurrent runs leave a good
//! cache; the files are `0600`; a commit that could not be read whole is never cached.

use crate::common;

use common::{checked, expect_exit, git_command, json, token, vigil, write};
use hmac::{Hmac, Mac};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

/// git as Ann, on a fixed date (the shared test setup otherwise).
fn git(dir: &Path, args: &[&str]) -> String {
    let mut c = git_command(dir, args);
    c.env("GIT_AUTHOR_NAME", "Ann")
        .env("GIT_AUTHOR_EMAIL", "ann@example.org")
        .env("GIT_AUTHOR_DATE", "2026-01-02T12:00:00Z")
        .env("GIT_COMMITTER_NAME", "Ann")
        .env("GIT_COMMITTER_EMAIL", "ann@example.org")
        .env("GIT_COMMITTER_DATE", "2026-01-02T12:00:00Z");
    checked(c, args)
}

fn commit(dir: &Path, msg: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", msg]);
    git(dir, &["rev-parse", "HEAD"])
}

fn gh(seed: u64) -> String {
    token("ghp_{alnum:30}{ghcrc}", seed)
}

/// A scan in `dir` whose signing key lives in `keys` (the user's cache folder).
fn scan(dir: &Path, keys: &Path, args: &[&str]) -> Output {
    vigil(dir)
        .env("XDG_CACHE_HOME", keys)
        .args(["scan", "--git", "--cache", "-f", "json"])
        .args(args)
        .output()
        .expect("vigil runs")
}

/// The same scan without the cache (the default).
fn scan_uncached(dir: &Path, keys: &Path) -> Output {
    vigil(dir)
        .env("XDG_CACHE_HOME", keys)
        .args(["scan", "--git", "-f", "json"])
        .output()
        .expect("vigil runs")
}

/// (file, rule, commit, line) of every finding.
fn found(out: &Output) -> Vec<(String, String, String, u64)> {
    let mut v: Vec<_> = json(out)
        .as_array()
        .expect("array")
        .iter()
        .filter(|f| f.get("rule").is_some())
        .map(|f| {
            (
                // A commit message's finding names its place, not a file.
                f["file"]
                    .as_str()
                    .or(f["place"].as_str())
                    .unwrap_or("")
                    .to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
                f["commit"].as_str().unwrap_or("").to_owned(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    v.sort();
    v
}

/// How many commits the summary says came from the cache (0 when it says nothing).
fn cached(out: &Output) -> usize {
    let err = String::from_utf8_lossy(&out.stderr);
    err.split(" from the history cache")
        .next()
        .filter(|head| head.len() < err.len())
        .and_then(|head| head.rsplit('(').next())
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

/// A history of 30 commits: two secrets, one removed later, one in a commit message.
fn repo() -> (TempDir, Vec<String>) {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["config", "gc.auto", "0"]);
    let secrets = vec![gh(1), gh(2), gh(3)];
    write(d, "README.md", "# demo\n");
    commit(d, "initial");
    write(d, "config/.env", format!("GITHUB_TOKEN={}\n", secrets[0]));
    commit(d, "add config");
    for i in 0..25 {
        write(d, "src/app.py", format!("print({i})\n"));
        commit(d, &format!("edit {i}"));
    }
    std::fs::remove_file(d.join("config/.env")).unwrap();
    commit(d, "remove config");
    write(d, "docs/notes.md", format!("token: {}\n", secrets[1]));
    commit(d, "notes");
    write(d, "src/app.py", "print('x')\n");
    commit(d, &format!("fix, token was {}", secrets[2]));
    (dir, secrets)
}

fn cache_file(d: &Path) -> PathBuf {
    d.join(".git/vigil/history-cache")
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Rewrites the cache body with `edit`, signed with `key` (the user's key) or left with its old
/// signature (`None`).
fn rewrite(d: &Path, key: Option<&[u8]>, edit: impl FnOnce(&mut serde_json::Value)) {
    let data = std::fs::read(cache_file(d)).unwrap();
    let nl = data.iter().position(|&b| b == b'\n').unwrap();
    let head = String::from_utf8(data[..nl].to_vec()).unwrap();
    let mut body: serde_json::Value = serde_json::from_slice(&data[nl + 1..]).unwrap();
    edit(&mut body);
    let body = serde_json::to_vec(&body).unwrap();
    let head = match key {
        Some(k) => {
            let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(k).unwrap();
            m.update(&body);
            let tag: String = m
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("vigil-history-cache {tag}")
        }
        None => head,
    };
    let mut out = head.into_bytes();
    out.push(b'\n');
    out.extend_from_slice(&body);
    std::fs::write(cache_file(d), out).unwrap();
}

#[test]
fn a_cached_git_scan_reports_every_finding_and_reads_only_new_commits() {
    let (dir, secrets) = repo();
    let d = dir.path();
    let keys = TempDir::new().unwrap();
    let first = scan(d, keys.path(), &[]);
    expect_exit(&first, 1);
    assert_eq!(cached(&first), 0);
    let want = found(&first);
    assert_eq!(want.len(), 3, "{want:?}");
    // Kept under the git folder, private, signed with a private per-user key, no secret in it.
    let file = cache_file(d);
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&keys.path().join("vigil/history-cache.key")), 0o600);
    assert_eq!(mode(&d.join(".git/vigil")), 0o700);
    let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "the cache holds no secret");
    }
    assert!(
        git(d, &["status", "--porcelain"]).is_empty(),
        "nothing in the working tree"
    );

    // Every commit known: none read again, every finding still reported (a hit never cleans).
    let second = scan(d, keys.path(), &[]);
    expect_exit(&second, 1);
    assert_eq!(cached(&second), 30);
    assert_eq!(found(&second), want);

    // One new commit with a new secret: only it is read.
    write(d, "deploy.env", format!("GH={}\n", gh(4)));
    let new = commit(d, "deploy");
    let third = scan(d, keys.path(), &[]);
    expect_exit(&third, 1);
    assert_eq!(cached(&third), 30);
    let got = found(&third);
    assert_eq!(got.len(), 4);
    assert!(got.contains(&("deploy.env".into(), "github-pat".into(), new.clone(), 1)));
    let fresh = scan_uncached(d, keys.path());
    assert_eq!(cached(&fresh), 0);
    assert_eq!(found(&fresh), got, "the same findings without the cache");

    // --range and --since use it too.
    let range = scan(
        d,
        keys.path(),
        &[
            "--range",
            &format!("{}..HEAD", git(d, &["rev-list", "--max-parents=0", "HEAD"])),
        ],
    );
    assert_eq!(cached(&range), 30);
    assert_eq!(found(&range).len(), 4);
    let since = scan(d, keys.path(), &["--since", "2020-01-01"]);
    assert_eq!(cached(&since), 31);
    assert_eq!(found(&since), got);
}

#[test]
fn a_rule_change_a_tampered_a_foreign_or_another_versions_git_cache_is_ignored() {
    let (dir, _) = repo();
    let d = dir.path();
    let keys = TempDir::new().unwrap();
    let want = found(&scan(d, keys.path(), &[]));
    assert_eq!(cached(&scan(d, keys.path(), &[])), 30);

    // An edit that would hide every finding, without the key: ignored whole, with a warning.
    rewrite(d, None, |b| {
        for (_, e) in b["commits"].as_object_mut().unwrap() {
            e.as_object_mut().unwrap().remove("f");
            e.as_object_mut().unwrap().remove("m");
        }
    });
    let out = scan(d, keys.path(), &[]);
    expect_exit(&out, 1);
    assert_eq!(cached(&out), 0);
    assert_eq!(found(&out), want);
    assert!(String::from_utf8_lossy(&out.stderr).contains("fails its check"));
    assert_eq!(cached(&scan(d, keys.path(), &[])), 30, "rewritten whole");

    // Another user's key (a repository copied in with its cache): ignored.
    let other = TempDir::new().unwrap();
    let out = scan(d, other.path(), &[]);
    assert_eq!(cached(&out), 0);
    assert_eq!(found(&out), want);

    // Another version's entries, correctly signed: ignored, then replaced.
    let key = std::fs::read(keys.path().join("vigil/history-cache.key")).unwrap();
    scan(d, keys.path(), &[]);
    rewrite(d, Some(key.trim_ascii()), |b| {
        b["version"] = "0.0.1-other".into();
        for (_, e) in b["commits"].as_object_mut().unwrap() {
            e.as_object_mut().unwrap().remove("f");
        }
    });
    let out = scan(d, keys.path(), &[]);
    assert_eq!(cached(&out), 0);
    assert_eq!(found(&out), want);
    assert_eq!(cached(&scan(d, keys.path(), &[])), 30);

    // A rule change: nothing cached under the old rules is used; the new rule finds its secret.
    let svc = format!("svc_tok_{}", "4b1d".repeat(10));
    write(d, "svc.txt", format!("{svc}\n"));
    commit(d, "service");
    write(
        d,
        "vigil.toml",
        "[[scan.rules]]\nid = \"internal-service-token\"\nregex = '''svc_tok_[a-f0-9]{40}'''\nkeywords = [\"svc_tok_\"]\n",
    );
    let out = scan(d, keys.path(), &[]);
    assert_eq!(cached(&out), 0);
    assert!(found(&out).iter().any(|f| f.1 == "internal-service-token"));
    let again = scan(d, keys.path(), &[]);
    assert_eq!(cached(&again), 31);
    assert_eq!(found(&again), found(&out));
}

#[test]
fn concurrent_git_scans_share_one_good_cache() {
    let (dir, _) = repo();
    let d = dir.path();
    let keys = TempDir::new().unwrap();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .current_dir(d)
            .env_remove("VIGIL_LOG")
            .env_remove("VIGIL_CONFIG")
            .env("XDG_CACHE_HOME", keys.path())
            .args(["scan", "--git", "--cache", "-f", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starts")
    };
    let runs: Vec<_> = (0..3).map(|_| start()).collect();
    for r in runs {
        assert_eq!(r.wait_with_output().unwrap().status.code(), Some(1));
    }
    let want = found(&scan_uncached(d, keys.path()));
    write(d, "later.txt", "clean\n");
    commit(d, "later");
    let runs: Vec<_> = (0..3)
        .map(|_| {
            vigil(d)
                .env("XDG_CACHE_HOME", keys.path())
                .args(["scan", "--git", "--cache", "-f", "json"])
                .output()
                .unwrap()
        })
        .collect();
    for r in &runs {
        assert_eq!(found(r), want);
    }
    let last = scan(d, keys.path(), &[]);
    assert_eq!(cached(&last), 31);
    assert_eq!(found(&last), want);
    let names: Vec<_> = std::fs::read_dir(d.join(".git/vigil"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["history-cache".to_owned()], "no temp file left");
}

#[test]
fn a_commit_whose_blob_is_missing_is_never_cached() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    write(d, "a.txt", "plain text that will go missing\n");
    commit(d, "a");
    let blob = git(d, &["rev-parse", "HEAD:a.txt"]);
    write(d, "b.env", format!("GITHUB_TOKEN={}\n", gh(9)));
    commit(d, "b");
    std::fs::remove_file(d.join(".git/objects").join(&blob[..2]).join(&blob[2..])).unwrap();
    let keys = TempDir::new().unwrap();
    for round in 0..2 {
        let out = scan(d, keys.path(), &[]);
        expect_exit(&out, 2);
        assert_eq!(cached(&out), round, "only the whole commit is cached");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&blob) && err.contains("missing"), "{err}");
        assert_eq!(found(&out).len(), 1);
    }
}

/// A gzip of `text` (the `gzip` tool, no name or time inside: the same bytes every time).
fn gzipped(dir: &Path, text: &str) -> Vec<u8> {
    write(dir, "gz-src.txt", text);
    let out = Command::new("gzip")
        .current_dir(dir)
        .args(["-n", "-c", "gz-src.txt"])
        .output()
        .expect("gzip runs");
    assert!(out.status.success());
    std::fs::remove_file(dir.join("gz-src.txt")).unwrap();
    out.stdout
}

/// bb-git-s7 #1 and #2: a cached scan reports exactly what a scan without the cache does, for
/// every kind of finding: a secret in a path, in a commit message, in content, and inside an
/// archive two branches' commits hold (reported once, at the oldest holder). Also after the
/// oldest holder's branch is deleted (the other commit, read from the cache, then reports
/// it), after new commits that add the same path and archive again, and for a push, which
/// never uses the cache.
#[test]
fn a_cached_scan_reports_exactly_what_an_uncached_scan_does() {
    let keys = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["config", "gc.auto", "0"]);
    write(d, "README.md", "# demo\n");
    commit(d, "initial");
    let in_path = gh(41);
    write(d, &format!("cfg/{in_path}"), "x\n");
    commit(d, "a path");
    write(d, "app.env", format!("GITHUB_TOKEN={}\n", gh(42)));
    commit(d, "content");
    write(d, "m.txt", "m\n");
    commit(d, &format!("deploy with {}", gh(43)));
    let archive = gzipped(d, &format!("GITHUB_TOKEN={}\n", gh(44)));
    for branch in ["x", "y"] {
        git(d, &["checkout", "-q", "-b", branch, "main"]);
        write(d, "a.gz", &archive);
        commit(d, &format!("archive on {branch}"));
    }
    git(d, &["checkout", "-q", "main"]);

    // Without and with the cache (the first cached run writes it, the second reads it).
    let same = |label: &str, reads_cache: bool| -> Output {
        let cold = scan_uncached(d, keys.path());
        let warm = scan(d, keys.path(), &[]);
        assert_eq!(found(&warm), found(&cold), "{label}: cached != uncached");
        assert_eq!(warm.status.code(), cold.status.code(), "{label}");
        if reads_cache {
            assert!(cached(&warm) > 0, "{label}: the cache was not read");
        }
        cold
    };
    same("first", false);
    let cold = same("second", true);
    let f = found(&cold);
    let archived: Vec<_> = f.iter().filter(|x| x.0.contains("a.gz!")).collect();
    assert_eq!(archived.len(), 1, "{f:?}");
    assert!(
        f.iter().any(|x| x.0.contains("cfg/")),
        "a path finding: {f:?}"
    );
    assert!(f.iter().any(|x| x.0 == "app.env"), "{f:?}");
    assert_eq!(f.len(), 4, "{f:?}");

    // The archive's first holder goes away: the other commit reports it, from the cache too.
    let first = archived[0].2.clone();
    let gone = if git(d, &["rev-parse", "x"]) == first {
        "x"
    } else {
        "y"
    };
    git(d, &["branch", "-D", gone]);
    let cold = same("after deleting the first holder", true);
    let f = found(&cold);
    let archived: Vec<_> = f.iter().filter(|x| x.0.contains("a.gz!")).collect();
    assert_eq!(archived.len(), 1, "{f:?}");
    assert_ne!(archived[0].2, first);

    // New commits add the path and the archive again (after removing them): each is still
    // reported once, where the uncached scan reports it.
    std::fs::remove_dir_all(d.join("cfg")).unwrap();
    commit(d, "no path");
    write(d, &format!("cfg/{in_path}"), "y\n");
    write(d, "b.gz", &archive);
    commit(d, "path and archive again");
    same("after new commits", true);

    // A push never uses the cache: the commit holding the archive is refused.
    let remote = TempDir::new().unwrap();
    git(remote.path(), &["init", "-q", "--bare"]);
    git(
        d,
        &["remote", "add", "origin", remote.path().to_str().unwrap()],
    );
    let kept = if gone == "x" { "y" } else { "x" };
    let tip = git(d, &["rev-parse", kept]);
    let zero = "0000000000000000000000000000000000000000";
    let out = vigil(d)
        .env("XDG_CACHE_HOME", keys.path())
        .args(["scan", "--pre-push", "--remote", "origin", "-f", "json"])
        .write_stdin(format!(
            "refs/heads/{kept} {tip} refs/heads/{kept} {zero}\n"
        ))
        .output()
        .unwrap();
    expect_exit(&out, 1);
    assert!(
        found(&out).iter().any(|x| x.0.contains("a.gz!")),
        "{:?}",
        found(&out)
    );
}

/// bb-git-s7 #12: `.git/vigil` linked into the working tree would put the cache where a commit
/// could pick it up: the scan runs without the cache, and says so.
#[test]
fn a_cache_folder_linked_into_the_working_tree_is_not_used() {
    let keys = TempDir::new().unwrap();
    let (dir, _) = repo();
    let d = dir.path();
    std::fs::create_dir(d.join("cachedir")).unwrap();
    std::os::unix::fs::symlink(d.join("cachedir"), d.join(".git/vigil")).unwrap();
    let out = scan(d, keys.path(), &[]);
    expect_exit(&out, 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("leads into the working tree"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(d.join("cachedir")).unwrap().count(), 0);
}

/// bb-git-s8 #6: a range whose base holds a custom rule the working tree no longer has: the
/// base's configuration applies (bb-git-s7 #7), also when every commit of the range comes from
/// the cache (the cached run had no bases, so the base's rule never ran: 0 findings with
/// `--cache`, 1 without). Compared finding by finding.
#[test]
fn a_cached_range_is_scanned_with_its_bases_configuration_too() {
    let dir = TempDir::new().unwrap();
    let (d, keys) = (dir.path().join("r"), dir.path().join("keys"));
    std::fs::create_dir_all(&d).unwrap();
    git(&d, &["init", "-q", "-b", "main"]);
    write(&d, "README.md", "hello\n");
    commit(&d, "init");
    write(
        &d,
        "vigil.toml",
        "[[scan.rules]]\nid = 'orch'\nregex = '''orch_[a-z0-9]{32}'''\nkeywords = ['orch_']\n",
    );
    commit(&d, "cfg");
    std::fs::remove_file(d.join("vigil.toml")).unwrap();
    write(
        &d,
        "s.txt",
        format!("v={}\n", token("orch_{lower:32}", 861)),
    );
    commit(&d, "s");
    // The whole history, as the working tree configures it (no `orch` rule): fills the cache.
    expect_exit(&scan(&d, &keys, &[]), 0);
    for args in [&["--range", "HEAD~1..HEAD"][..], &["--branch", "main"][..]] {
        let cached = scan(&d, &keys, args);
        let fresh = vigil(&d)
            .env("XDG_CACHE_HOME", &keys)
            .args(["scan", "--git", "-f", "json"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(cached.status.code(), fresh.status.code(), "{args:?}");
        assert_eq!(found(&cached), found(&fresh), "{args:?}");
    }
    let out = scan(&d, &keys, &["--range", "HEAD~1..HEAD"]);
    expect_exit(&out, 1);
    assert!(
        found(&out).iter().any(|f| f.1 == "orch"),
        "{:?}",
        found(&out)
    );
}

/// bb-git-s8 #10: a file named with a secret was written in clear into the cache file, and stayed
/// there after the history was purged. A commit introducing such a path is not cached (it is
/// scanned again each time, and still reported), and entries of commits the repository no
/// longer holds are dropped.
#[test]
fn a_secret_in_a_path_never_reaches_the_cache_file() {
    let dir = TempDir::new().unwrap();
    let (d, keys) = (dir.path().join("r"), dir.path().join("keys"));
    std::fs::create_dir_all(&d).unwrap();
    git(&d, &["init", "-q", "-b", "main"]);
    write(&d, "README.md", "hello\n");
    commit(&d, "init");
    let name = gh(862);
    git(&d, &["checkout", "-q", "-b", "leak"]);
    write(&d, &format!("c/{name}"), "1\n");
    commit(&d, "path");
    write(&d, "other.txt", "2\n");
    let tip = commit(&d, "later");
    git(&d, &["checkout", "-q", "main"]);
    let first = scan(&d, &keys, &[]);
    expect_exit(&first, 1);
    let second = scan(&d, &keys, &[]);
    expect_exit(&second, 1);
    assert_eq!(found(&first), found(&second));
    let cache = d.join(".git/vigil/history-cache");
    let text = std::fs::read(&cache).unwrap();
    assert!(
        !String::from_utf8_lossy(&text).contains(&name[4..]),
        "the secret is in the cache file"
    );
    assert!(
        String::from_utf8_lossy(&text).contains(&tip),
        "later commits are cached"
    );
    // The branch is purged: its commits leave the cache.
    git(&d, &["branch", "-D", "leak"]);
    git(&d, &["reflog", "expire", "--expire=now", "--all"]);
    git(&d, &["gc", "-q", "--prune=now"]);
    expect_exit(&scan(&d, &keys, &[]), 0);
    let text = std::fs::read(&cache).unwrap();
    assert!(
        !String::from_utf8_lossy(&text).contains(&tip),
        "a purged commit stays in the cache"
    );
}
