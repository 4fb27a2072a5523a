//! Git as a source, read with `gix` (no `git` subprocess): the history reachable from refs (or a
//! branch, a range, commits newer than a date), the staged index, and the commits a push would
//! send.
//!
//! History: each commit's tree is compared with its parents' trees; a (path, blob) pair present
//! in the commit and in none of its parents was *introduced* there. Every distinct pair is
//! scanned once, however many commits hold it, in parallel; each finding is then attributed to
//! every commit that introduced its pair, with the commit's author, date and summary. Subtrees
//! whose id equals a parent's are skipped whole, so unchanged directories cost nothing.
//! Submodules (gitlinks) are not content (their paths are scanned as names); a symbolic link's
//! blob (its target) is scanned as text; replacement refs and the commit-graph are not used; a missing or corrupt
//! object is a warning naming it; a shallow clone's boundary commits count as roots. A walk of
//! the whole history (no range, push or date limit) first decodes every packed tree in pack order
//! (`pack_trees`), so that deep tree delta chains cost one inflate per tree. With the history
//! cache (`history_cache`), commits an earlier scan read whole are walked from the cache and their
//! findings read back from the few blobs that hold them; only new commits are compared and read.

use crate::content::{self, ContentOptions, ContentTally};
use crate::finding::{Finding, Place};
use crate::history_cache::{Entry, Held, HistoryCache, Place as Spot};
use crate::Ruleset;
use gix::bstr::ByteSlice;
use gix::ObjectId;
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use vigil_core::Origin;

/// The base of scanned changes that build on no commit (a root commit, the index before the
/// first commit): in [`GitStats::bases`], it stands for the built-in configuration.
pub const NO_BASE: &str = "(no base commit)";

/// What part of history to scan.
#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    /// Only this branch (or any revision) instead of every ref.
    pub branch: Option<String>,
    /// Only commits at or after this time (seconds since the epoch).
    pub since: Option<i64>,
    /// `A..B`: commits reachable from B and not from A.
    pub range: Option<String>,
    /// Explicit tips (pre-push), instead of refs, branch or range.
    pub tips: Vec<String>,
    /// Commits whose ancestry is excluded (pre-push: what the remote has).
    pub hidden: Vec<String>,
    /// A push with a new ref: also exclude what this remote advertises (pre-push).
    pub ask_remote: Option<AskRemote>,
    /// Also every local branch and tag, and `HEAD`, as tips (a pre-push hook that got no push
    /// input although a remote was named: what it pushes is unknown).
    pub local_refs: bool,
    /// Ref names a push creates or updates (pre-push): their names are scanned as text.
    pub ref_names: Vec<String>,
    /// Repository-relative paths of configuration files: whether the scanned commits modify
    /// them is reported ([`GitStats::touched`]).
    pub watch: Vec<String>,
    /// Skip blobs larger than this.
    pub max_blob_size: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Decoding and archive depths and limits (blobs that are archives are opened).
    pub content: ContentOptions,
    /// Also every commit and blob of the object database that no ref reaches (force-pushed,
    /// dropped stashes, reflog-only, never committed): their findings are `unreachable`.
    pub all_objects: bool,
    /// Read and update the history cache under the git folder (`history_cache`): commits an
    /// earlier scan read whole are not walked, compared or read again, and their findings are
    /// still reported. Not used with `all_objects`.
    pub cache: bool,
}

/// What a push sends, as a pre-push hook learns it: explicit tips and what the remote already
/// has.
///
/// For a ref the remote already has, git's input names the remote's commit exactly: only
/// `remote..local` is scanned. A new ref excludes only what the pushed remote really has: the
/// commits it advertises (`git ls-remote <url>`, asked from the hook; never the local
/// remote-tracking refs, which may be stale or another remote's). When that cannot be asked (no
/// remote named, no connection), nothing more is excluded: every commit of the new ref that the
/// replaced remote commits do not reach is scanned, and the scan says so on one line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushRange {
    /// Commits being pushed.
    pub tips: Vec<String>,
    /// Commits the remote has (their ancestry is not scanned).
    pub hidden: Vec<String>,
    /// Whether a new ref is pushed (or the pushed refs are unknown): what the remote has must
    /// then be asked from it.
    pub ask_remote: bool,
    /// The remote pushed to, as git gives it to the hook (`$1`: a name or a URL).
    pub remote: Option<String>,
    /// Where the push goes (`$2`), asked for what it has.
    pub url: Option<String>,
    /// No push input and no remote named (run by hand): ask the current branch's upstream
    /// remote. A hook's push never guesses its remote.
    pub upstream: bool,
    /// The local and remote ref names of the push (their names are scanned as text).
    pub refs: Vec<String>,
    /// Commits said to be on the remote by someone other than git (pre-commit's
    /// `PRE_COMMIT_FROM_REF`, which it derives from remote-tracking refs for a new ref): hidden
    /// only when the remote advertises them.
    pub claimed: Vec<String>,
    /// The hook got no push input although a remote was named (a hook manager that did not
    /// pass git's stdin on): every local branch and tag, and `HEAD`, are scanned against what
    /// the remote has.
    pub local_refs: bool,
}

impl PushRange {
    /// Reads the push from what the hook was given: pre-commit's `PRE_COMMIT_FROM_REF` and
    /// `PRE_COMMIT_TO_REF` (through `env`), else git's pre-push input (`<local ref> <local sha>
    /// <remote ref> <remote sha>` lines, at most 1 MiB; deletions send nothing), else HEAD (what
    /// the remote has is then asked from it). `remote` and `url` are the hook's `$1` and `$2`
    /// (pre-commit's `PRE_COMMIT_REMOTE_NAME` and `PRE_COMMIT_REMOTE_URL` when not given).
    /// `stdin` is `None` when no input can come (a terminal).
    pub fn from_hook(
        env: &dyn Fn(&str) -> Option<String>,
        stdin: Option<&mut dyn Read>,
        remote: Option<&str>,
        url: Option<&str>,
    ) -> Result<Self, GitError> {
        const ZERO: &str = "0000000000000000000000000000000000000000";
        let remote = remote
            .map(str::to_owned)
            .or_else(|| env("PRE_COMMIT_REMOTE_NAME"))
            .filter(|r| !r.is_empty());
        let url = url
            .map(str::to_owned)
            .or_else(|| env("PRE_COMMIT_REMOTE_URL"))
            .filter(|u| !u.is_empty());
        // pre-commit's pre-push variables (`PRE_COMMIT_REMOTE_NAME` is set only in its hook):
        // it reads git's stdin itself and passes on only the first pushed ref.
        let in_hook = env("PRE_COMMIT_REMOTE_NAME").is_some_and(|r| !r.is_empty());
        let pre_commit_refs: Vec<String> = ["PRE_COMMIT_LOCAL_BRANCH", "PRE_COMMIT_REMOTE_BRANCH"]
            .into_iter()
            .filter_map(|k| env(k).filter(|v| !v.is_empty()))
            .fold(Vec::new(), |mut v, r| {
                if !v.contains(&r) {
                    v.push(r);
                }
                v
            });
        if let (Some(from), Some(to)) = (env("PRE_COMMIT_FROM_REF"), env("PRE_COMMIT_TO_REF")) {
            if !in_hook {
                // `pre-commit run --from-ref A --to-ref B` (CI, by hand): the range asked for.
                return Ok(PushRange {
                    tips: vec![to],
                    hidden: vec![from],
                    remote,
                    url,
                    ..PushRange::default()
                });
            }
            // In its pre-push hook, pre-commit's FROM_REF is git's remote commit for an update,
            // but for a new ref the parent of the first commit no remote-tracking ref reaches:
            // stale tracking refs (a branch deleted on the remote) would hide commits the
            // remote no longer has. It counts only when the remote advertises it.
            return Ok(PushRange {
                tips: vec![to],
                claimed: vec![from],
                ask_remote: true,
                remote,
                url,
                refs: pre_commit_refs,
                ..PushRange::default()
            });
        }
        if in_hook {
            if let Some(local) = env("PRE_COMMIT_LOCAL_BRANCH").filter(|b| !b.is_empty()) {
                // pre-commit's "all files" case: the pushed ref reaches a root commit no
                // remote-tracking ref reaches (an orphan branch, a first push). It sets no
                // range; the pushed ref is scanned against what the remote has.
                return Ok(PushRange {
                    tips: vec![local],
                    ask_remote: true,
                    remote,
                    url,
                    refs: pre_commit_refs,
                    ..PushRange::default()
                });
            }
        }
        let mut input = String::new();
        if let Some(r) = stdin {
            r.take(1 << 20)
                .read_to_string(&mut input)
                .map_err(GitError::PushInput)?;
        }
        let mut range = PushRange {
            remote,
            url,
            ..PushRange::default()
        };
        for line in input.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() != 4 || f[1] == ZERO {
                continue; // not a ref line, or a deletion (which sends nothing)
            }
            range.tips.push(f[1].to_owned());
            for name in [f[0], f[2]] {
                if !range.refs.iter().any(|r| r == name) {
                    range.refs.push(name.to_owned());
                }
            }
            if f[3] == ZERO {
                range.ask_remote = true;
            } else {
                range.hidden.push(f[3].to_owned());
            }
        }
        if range.tips.is_empty() {
            range.ask_remote = true;
            let ref_lines = input.lines().any(|l| l.split_whitespace().count() == 4);
            if ref_lines || (range.remote.is_none() && range.url.is_none()) {
                // Run by hand (or a push of deletions only, which sends nothing): HEAD,
                // against what the current branch's upstream remote has.
                range.tips.push("HEAD".into());
                range.upstream = range.remote.is_none() && range.url.is_none();
            } else {
                // A remote was named but git's push input never came: a hook manager that
                // does not pass stdin on (a lefthook entry without `use_stdin`). What is
                // pushed is unknown, so every local branch and tag is scanned (fail closed),
                // never only `HEAD`.
                range.local_refs = true;
            }
        }
        Ok(range)
    }

    /// Narrows history options to this push.
    pub fn apply_to(&self, opts: &mut HistoryOptions) {
        opts.tips.extend(self.tips.iter().cloned());
        opts.local_refs |= self.local_refs;
        opts.hidden.extend(self.hidden.iter().cloned());
        opts.ref_names.extend(self.refs.iter().cloned());
        if self.ask_remote {
            opts.ask_remote = Some(AskRemote {
                remote: self.remote.clone(),
                url: self.url.clone(),
                upstream: self.upstream,
                claimed: self.claimed.clone(),
            });
        }
    }
}

/// The remote a push goes to, to be asked what it has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AskRemote {
    /// Its name (or URL) as the hook got it; else the upstream remote of the current branch.
    pub remote: Option<String>,
    /// Its push URL as the hook got it.
    pub url: Option<String>,
    /// When neither is known: ask the current branch's upstream remote (a scan run by hand).
    pub upstream: bool,
    /// Commits hidden when the remote advertises them (pre-commit's `PRE_COMMIT_FROM_REF`),
    /// whether or not a remote-tracking ref points at them.
    pub claimed: Vec<String>,
}

/// `text` with the user part of every URL in it (`https://TOKEN@host`, `ssh://u:pw@host`)
/// replaced by `[REDACTED]`: CI pushes with a token as the URL's user name, and a warning must
/// not print it.
fn hide_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"' || c == '`')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("[REDACTED]");
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// `text` fit for a warning about a remote: URL user parts hidden ([`hide_userinfo`]), the user
/// part of scp-like addresses (`TOKEN@host:path`, except git's conventional `git@`) hidden, and
/// every secret the built-in rules find (in a URL's path, query or fragment too) redacted.
fn hide_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in hide_userinfo(text).split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let core = word.trim_start_matches(['\'', '"', '`', '(']);
        let lead = &word[..word.len() - core.len()];
        match core.find('@') {
            Some(at)
                if !core[..at].contains("://")
                    && core[at + 1..].contains(':')
                    && &core[..at] != "git"
                    && at > 0 =>
            {
                out.push_str(lead);
                out.push_str("[REDACTED]");
                out.push_str(&core[at..]);
            }
            _ => out.push_str(word),
        }
    }
    static RULES: std::sync::LazyLock<Ruleset> = std::sync::LazyLock::new(Ruleset::builtin);
    let mut redactor = crate::redact::Redactor::new(
        vec![&*RULES],
        crate::redact::RedactOptions {
            max_decode_depth: 1,
            ..Default::default()
        },
    );
    let mut redacted = Vec::with_capacity(out.len());
    redactor.redact(out.as_bytes(), &mut redacted);
    String::from_utf8_lossy(&redacted).into_owned()
}

/// The commits a remote advertises (`git ls-remote`, without prompting), that this repository
/// holds: the remote has them and all their history. `Err` says why it could not be asked.
///
/// The repository asked is the one `git push` sends to: the hook's `$2` as git gave it, else the
/// push URLs git resolves for the remote named (`git remote get-url --push --all`: `pushurl`,
/// `pushInsteadOf`), never the fetch URL. `git ls-remote` would apply `url.*.insteadOf` to that
/// URL again (git applies `pushInsteadOf` to a push, not `insteadOf` after it): the rewrite is
/// turned off for the exact URL, and checked with `git ls-remote --get-url`; a URL git would
/// still rewrite is not asked. With several push URLs, only what every one advertises counts.
///
/// `ls-remote` hears upload-pack's advertisement, and a push is negotiated with
/// receive-pack's, which a remote may make differ (`receive.hideRefs`): a remote advertising a
/// local commit it does not have would have git send it while the scan skips it. So an
/// advertised commit is trusted only where a remote-tracking ref of that remote
/// (`refs/remotes/<name>/…`, which a fetch from it or a push to it set) points at it: what the
/// remote once gave or took. The remaining gap: a remote that still advertises a commit it
/// once had but no longer holds gets it again, unscanned (it had it already).
fn advertised(repo: &gix::Repository, ask: &AskRemote) -> Result<Vec<ObjectId>, String> {
    let remote = match (&ask.url, &ask.remote) {
        (Some(_), _) => None,
        (None, Some(r)) => Some(r.clone()),
        (None, None) if ask.upstream => Some(upstream_remote(repo).ok_or(
            "the current branch has no upstream remote and there is not exactly one remote",
        )?),
        (None, None) => {
            return Err("the hook was not told the remote (`vigil scan --pre-push --remote \"$1\" --remote-url \"$2\"`)".into())
        }
    };
    let name = remote.clone().or_else(|| ask.remote.clone());
    let urls = match (&ask.url, remote) {
        (Some(u), _) => vec![u.clone()],
        (None, Some(r)) => push_urls(repo, &r)?,
        (None, None) => Vec::new(),
    };
    let learned = name.map(|n| tracking_tips(repo, &n)).unwrap_or_default();
    let mut common: Option<BTreeSet<ObjectId>> = None;
    for url in &urls {
        let ids = ask_url(repo, url)?;
        common = Some(match common {
            None => ids,
            Some(c) => c.intersection(&ids).copied().collect(),
        });
    }
    let claimed: Vec<ObjectId> = ask
        .claimed
        .iter()
        .filter_map(|c| repo.rev_parse_single(c.as_str()).ok().map(|id| id.detach()))
        .collect();
    Ok(common
        .unwrap_or_default()
        .into_iter()
        .filter(|id| learned.contains(id) || claimed.contains(id))
        .collect())
}

/// The commits the remote-tracking refs of remote `name` point at (`refs/remotes/<name>/…`,
/// tags peeled); none when `name` is no configured remote (a URL).
fn tracking_tips(repo: &gix::Repository, name: &str) -> std::collections::HashSet<ObjectId> {
    let mut out = std::collections::HashSet::new();
    if !repo.remote_names().iter().any(|n| *n == name) {
        return out;
    }
    let Ok(refs) = repo.references() else {
        return out;
    };
    let Ok(list) = refs.prefixed(format!("refs/remotes/{name}/").as_str()) else {
        return out;
    };
    for r in list.flatten() {
        let mut r = r;
        if let Ok(id) = r.peel_to_id() {
            out.insert(id.detach());
        }
    }
    out
}

/// `git` in the repository, without prompting, with `url.<url>.insteadOf = <url>` given through
/// `GIT_CONFIG_COUNT` (no quoting: a URL may hold `=`), so git asks `url` as it is.
fn git_as_is(repo: &gix::Repository, url: &str) -> std::process::Command {
    let mut c = git_command(repo);
    c.env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", format!("url.{url}.insteadOf"))
        .env("GIT_CONFIG_VALUE_0", url);
    c
}

/// `git` in the repository, without prompting.
fn git_command(repo: &gix::Repository) -> std::process::Command {
    let dir = repo.workdir().unwrap_or_else(|| repo.git_dir());
    let mut c = std::process::Command::new("git");
    c.current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_DIR", repo.git_dir())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    c
}

/// The first non-empty line of a failed git's stderr, printable and without URL user parts.
fn git_failure(out: &std::process::Output) -> String {
    let why = String::from_utf8_lossy(&out.stderr);
    let why = why
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("failed");
    vigil_core::logging::printable(&hide_secrets(why.trim())).into_owned()
}

/// The URLs `git push <remote>` sends to (`git remote get-url --push --all`); a name that is no
/// configured remote is a URL itself.
fn push_urls(repo: &gix::Repository, remote: &str) -> Result<Vec<String>, String> {
    if !repo.remote_names().iter().any(|n| *n == remote) {
        return Ok(vec![remote.to_owned()]);
    }
    let out = git_command(repo)
        .args(["remote", "get-url", "--push", "--all", remote])
        .output()
        .map_err(|e| format!("cannot run `git remote get-url`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`git remote get-url --push {}`: {}",
            vigil_core::logging::printable(remote),
            git_failure(&out)
        ));
    }
    let urls: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if urls.is_empty() {
        return Err(format!(
            "remote {} has no URL",
            vigil_core::logging::printable(remote)
        ));
    }
    Ok(urls)
}

/// The commits held here that the repository at exactly `url` advertises.
fn ask_url(repo: &gix::Repository, url: &str) -> Result<BTreeSet<ObjectId>, String> {
    let shown = vigil_core::logging::printable(&hide_secrets(url)).into_owned();
    // What git would ask instead (`url.*.insteadOf`): only the URL itself is trusted.
    let out = git_as_is(repo, url)
        .args(["ls-remote", "--get-url", "--", url])
        .output()
        .map_err(|e| format!("cannot run `git ls-remote`: {e}"))?;
    let got = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
    if !out.status.success() || got != url {
        return Err(format!(
            "git would ask {} instead of {shown} (`url.*.insteadOf`)",
            vigil_core::logging::printable(&hide_secrets(&got))
        ));
    }
    let out = git_as_is(repo, url)
        .args(["ls-remote", "--", url])
        .output()
        .map_err(|e| format!("cannot run `git ls-remote`: {e}"))?;
    if !out.status.success() {
        return Err(format!("`git ls-remote {shown}`: {}", git_failure(&out)));
    }
    let mut ids = BTreeSet::new();
    for line in out.stdout.lines() {
        let Some(hex) = line.split(|b| *b == b'\t').next() else {
            continue;
        };
        let Ok(id) = ObjectId::from_hex(hex) else {
            continue;
        };
        // Only commits held here (a tag peels to its commit in the `^{}` line).
        if let Ok(Some(h)) = repo.try_find_header(id) {
            if h.kind() == gix::object::Kind::Commit {
                ids.insert(id);
            }
        }
    }
    Ok(ids)
}

/// The remote of the current branch's upstream (`branch.<name>.remote`), else the only remote.
fn upstream_remote(repo: &gix::Repository) -> Option<String> {
    let head = repo.head_name().ok().flatten();
    let config = repo.config_snapshot();
    if let Some(h) = head {
        let short = h.shorten().to_string();
        if let Some(r) = config.string(format!("branch.{short}.remote").as_str()) {
            return Some(r.to_string());
        }
    }
    let names = repo.remote_names();
    if names.len() == 1 {
        return names.iter().next().map(|n| n.to_string());
    }
    None
}

/// A `--since` date that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: `{text}` {why}")]
pub struct DateError {
    /// Where the date was given.
    pub origin: Origin,
    /// The text (a date, never a secret).
    pub text: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Parses a date (`2026-01-31`) or an RFC 3339 time into seconds since the epoch (UTC).
pub fn parse_since(text: &str, origin: impl FnOnce() -> Origin) -> Result<i64, DateError> {
    let t = humantime::parse_rfc3339_weak(text)
        .or_else(|_| humantime::parse_rfc3339_weak(&format!("{text} 00:00:00")))
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match t {
        // A date past tomorrow would scan nothing and pass (a typo such as 2062 for 2026).
        Some(d) if d.as_secs() > now + 86_400 => Err(DateError {
            origin: origin(),
            text: text.to_owned(),
            why: "is in the future: nothing would be scanned",
        }),
        Some(d) => Ok(d.as_secs() as i64),
        None => Err(DateError {
            origin: origin(),
            text: text.to_owned(),
            why: "is not a date (2026-01-31 or RFC 3339)",
        }),
    }
}

/// A commit as findings show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitInfo {
    /// Full hex id.
    pub id: String,
    /// Author name.
    pub author: String,
    /// Author email.
    pub email: String,
    /// Author date, RFC 3339 (UTC).
    pub date: String,
    /// First line of the message.
    pub summary: String,
    /// Author time, seconds since the epoch.
    pub time: i64,
    /// The later of author and committer time: what `--since` compares (both dates are set by
    /// whoever made the commit, so a commit is left out only when both are older).
    pub newest: i64,
}

/// Counters of a history or index scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitStats {
    /// Commits walked.
    pub commits: usize,
    /// Distinct (path, blob) pairs scanned.
    pub blobs: usize,
    /// Bytes scanned.
    pub bytes: u64,
    /// Binary or oversized blobs skipped.
    pub skipped: usize,
    /// Objects that are in the repository but could not be read (corrupt).
    pub unreadable: usize,
    /// Objects history names that this clone does not hold (deleted, or left out by a partial
    /// clone's filter).
    pub missing: usize,
    /// The first few missing or unreadable objects, `kind id (path)`, for the summary and reports.
    pub named: Vec<String>,
    /// Boundary commits of a shallow clone that the walk reached (0 when the clone is whole, or
    /// a range or push stayed above the boundary): history before them is not here.
    pub shallow: usize,
    /// Whether the repository is a partial clone (promisor packs, `extensions.partialClone`).
    pub partial_clone: bool,
    /// Lines of history the walk could not follow (a missing commit).
    pub walk_stopped: usize,
    /// Objects no ref reaches that `--all-objects` scanned (commits, and blobs no commit holds).
    pub unreachable: usize,
    /// Commits whose findings came from the history cache (counted in `commits` too).
    pub cached: usize,
    /// Archives, archive members, decodings, inline markers, and what could not be finished.
    pub content: ContentTally,
    /// A push with a new ref whose remote could not be asked what it has: why (every commit
    /// of the new ref not reachable from the replaced remote commits was scanned).
    pub push_unverified: Option<String>,
    /// The watched paths that the scanned commits (or the index) modify.
    pub touched: Vec<String>,
    /// Refs that name a tree or a blob (`name (id)`), not scanned without `--all-objects`.
    pub not_commits: Vec<String>,
    /// The base of the scanned changes (hex ids): the commits outside the scan that scanned
    /// commits have as parents (what a push's remote, a range's start or `--since` leaves out),
    /// or `HEAD` for the index. Empty for a whole history.
    pub bases: Vec<String>,
}

/// A repository-level failure (objects that cannot be read are warnings, not errors).
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// Not a repository, or its index cannot be read.
    #[error("{}: not a git repository ({message})", path.display())]
    Open {
        /// The path.
        path: PathBuf,
        /// What gix said.
        message: String,
    },
    /// A revision that does not resolve.
    #[error("{origin} `{rev}` does not name a commit ({message})")]
    Rev {
        /// Where the revision was given: `--branch`, `--range`, `--pre-push` (pre-push input).
        origin: Origin,
        /// The revision.
        rev: String,
        /// What gix said.
        message: String,
    },
    /// A `--range` that is not `A..B`.
    #[error("--range `{rev}`: {message}")]
    Range {
        /// The range as given.
        rev: String,
        /// What is wrong with it.
        message: String,
    },
    /// The walk failed.
    #[error("walking history: {message}")]
    Walk {
        /// What gix said.
        message: String,
    },
    /// The refs a pre-push hook sent could not be read.
    #[error("reading pre-push stdin: {0}")]
    PushInput(std::io::Error),
    /// `GIT_DIR` names one repository and the path given another: ambiguous, refused.
    #[error("{}: GIT_DIR={} names another repository ({found}); unset GIT_DIR or drop the path", path.display(), git_dir.display())]
    GitDirConflict {
        /// The path given.
        path: PathBuf,
        /// `GIT_DIR`.
        git_dir: PathBuf,
        /// What the path is (its git directory, or that it is in none).
        found: String,
    },
}

/// Refuses a `GIT_DIR` in the environment that names another repository than `path`, given
/// explicitly, is in (ambiguous input: git would take `GIT_DIR`, the user named the path).
/// Both naming the same git directory is fine, as is no `GIT_DIR`.
pub fn check_git_dir(path: &Path) -> Result<(), GitError> {
    let Some(env) = std::env::var_os("GIT_DIR").filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let env = PathBuf::from(env);
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    let conflict = |found: String| GitError::GitDirConflict {
        path: path.to_owned(),
        git_dir: env.clone(),
        found,
    };
    let at_path = std::fs::canonicalize(path)
        .ok()
        .and_then(|a| {
            gix::ThreadSafeRepository::discover_opts(&a, Default::default(), trust_map()).ok()
        })
        .map(|r| canon(r.git_dir()));
    match at_path {
        Some(dir) if dir == canon(&env) => Ok(()),
        Some(dir) => Err(conflict(dir.display().to_string())),
        None => Err(conflict("in no repository".into())),
    }
}

/// What every repository handle of a scan is opened with: replacement refs (`git replace`,
/// `refs/replace/`) are ignored, as `git push` and pack-objects ignore them (they send the real
/// objects), so a replacement cannot hide a commit or a blob; and the commit-graph file, a cache
/// anyone with write access to `.git` can forge, is not trusted for parents (each commit object
/// is read).
const OVERRIDES: [&str; 2] = ["core.useReplaceRefs=false", "core.commitGraph=false"];

/// Open options with [`OVERRIDES`], at both trust levels.
fn trust_map() -> gix::sec::trust::Mapping<gix::open::Options> {
    let mut map = gix::sec::trust::Mapping::<gix::open::Options>::default();
    map.full.modify(|o| o.config_overrides(OVERRIDES));
    map.reduced.modify(|o| o.config_overrides(OVERRIDES));
    map
}

/// Opens the repository at or above `path` (bare repositories included), as git finds it: a
/// `GIT_DIR` (and `GIT_WORK_TREE`) in the environment wins, as git sets them for hooks in bare
/// repositories and linked worktrees. The path is made absolute first: gix's discovery
/// mishandles a relative path that climbs (`../bot.git`). Replacement refs and the commit-graph
/// are not used ([`OVERRIDES`]).
pub fn open(path: &Path) -> Result<gix::Repository, GitError> {
    let err = |message: String| GitError::Open {
        path: path.to_owned(),
        message,
    };
    let absolute = std::fs::canonicalize(path).map_err(|e| err(e.to_string()))?;
    gix::ThreadSafeRepository::discover_with_environment_overrides_opts(
        &absolute,
        Default::default(),
        trust_map(),
    )
    .map(Into::into)
    .map_err(|e| err(e.to_string()))
}

/// `file`'s path inside the working tree of the repository at `repo`, `/`-separated; `None`
/// when it is outside it (or there is no repository).
pub fn repo_relative(repo: &Path, file: &Path) -> Option<String> {
    let r = open(repo).ok()?;
    let root = std::fs::canonicalize(r.workdir()?).ok()?;
    let file = std::fs::canonicalize(file).ok()?;
    let rel = file.strip_prefix(&root).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// Opens the repository of a worktree folder as git sees it from there (its own `.git`, not
/// `GIT_DIR`), with the same [`OVERRIDES`]: its configuration includes the worktree's
/// `config.worktree` under `extensions.worktreeConfig`.
pub(crate) fn open_worktree(dir: &Path) -> Option<gix::Repository> {
    gix::ThreadSafeRepository::open_opts(dir, trust_map().full)
        .ok()
        .map(Into::into)
}

/// The top of the working tree of the repository at or above `path` (`None` for a bare one).
pub fn work_root(path: &Path) -> Option<PathBuf> {
    let r = open(path).ok()?;
    std::fs::canonicalize(r.workdir()?).ok()
}

/// The contents of `paths` (repository-relative, `/`-separated) in the tree of commit `commit`
/// (hex) of repository `r`: `None` where a path holds no blob. `None` when the commit or its
/// tree cannot be read.
pub fn files_at(
    r: &gix::Repository,
    commit: &str,
    paths: &[String],
) -> Option<Vec<Option<Vec<u8>>>> {
    let id = ObjectId::from_hex(commit.as_bytes()).ok()?;
    let tree = r.find_commit(id).ok()?.tree().ok()?;
    Some(
        paths
            .iter()
            .map(|p| {
                let entry = tree.lookup_entry_by_path(p).ok()??;
                if !entry.mode().is_blob() {
                    return None;
                }
                let blob = r.find_object(entry.object_id()).ok()?;
                Some(blob.data.to_vec())
            })
            .collect(),
    )
}

/// Opens a git directory found before, with the same [`OVERRIDES`].
fn open_git_dir(git_dir: &Path) -> Option<gix::Repository> {
    let options = trust_map().full;
    gix::ThreadSafeRepository::open_opts(git_dir, options)
        .ok()
        .map(Into::into)
}

/// A freshly opened object database for `git_dir`, shared by worker threads (`to_thread_local`):
/// the pages its packs and indexes map are handed back when it is dropped. `repo`'s own is
/// shared when the directory cannot be opened again.
fn fresh_store(git_dir: &Path, repo: &gix::Repository) -> gix::ThreadSafeRepository {
    match open_git_dir(git_dir) {
        Some(r) => r.into_sync(),
        None => repo.clone().into_sync(),
    }
}

fn resolve(
    repo: &gix::Repository,
    what: &str,
    rev: &str,
    tags: &mut BTreeSet<ObjectId>,
) -> Result<ObjectId, GitError> {
    let err = |m: String| GitError::Rev {
        origin: Origin::Flag(what.to_owned()),
        rev: rev.to_owned(),
        message: m,
    };
    let id = repo.rev_parse_single(rev).map_err(|e| err(e.to_string()))?;
    tag_chain(repo, id.detach(), tags);
    let obj = id.object().map_err(|e| err(e.to_string()))?;
    let commit = obj
        .peel_to_kind(gix::object::Kind::Commit)
        .map_err(|e| err(e.to_string()))?;
    Ok(commit.id)
}

/// What `id` names once annotated tags are followed (a tag of a tag included); the tags met
/// are added to `tags`. An object that cannot be read is returned as it is.
fn peel_tags(repo: &gix::Repository, mut id: ObjectId, tags: &mut BTreeSet<ObjectId>) -> ObjectId {
    for _ in 0..64 {
        let Ok(Some(h)) = repo.try_find_header(id) else {
            return id;
        };
        if h.kind() != gix::object::Kind::Tag {
            return id;
        }
        tags.insert(id);
        let Ok(o) = repo.find_object(id) else {
            return id;
        };
        let Ok(t) = gix::objs::TagRef::from_bytes(&o.data, repo.object_hash()) else {
            return id;
        };
        id = t.target();
    }
    id
}

/// The detached HEADs of every worktree, the main one and each linked one (a HEAD that names
/// a branch is that branch, listed with the refs).
fn worktree_heads(repo: &gix::Repository) -> Vec<ObjectId> {
    let common = repo.common_dir();
    let mut files = vec![common.join("HEAD")];
    if let Ok(dir) = std::fs::read_dir(common.join("worktrees")) {
        files.extend(dir.flatten().map(|e| e.path().join("HEAD")));
    }
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .filter_map(|t| ObjectId::from_hex(t.trim().as_bytes()).ok())
        .collect()
}

/// Adds the annotated tag objects from `id` down to what they name (a tag of a tag) to `tags`.
fn tag_chain(repo: &gix::Repository, mut id: ObjectId, tags: &mut BTreeSet<ObjectId>) {
    // Bounded: a chain of tags is short, and a cycle cannot be built (ids are hashes).
    for _ in 0..64 {
        let Ok(Some(h)) = repo.try_find_header(id) else {
            return;
        };
        if h.kind() != gix::object::Kind::Tag || !tags.insert(id) {
            return;
        }
        let Ok(o) = repo.find_object(id) else { return };
        let Ok(t) = gix::objs::TagRef::from_bytes(&o.data, repo.object_hash()) else {
            return;
        };
        id = t.target();
    }
}

/// Scans the messages of annotated tag objects, each located at `tag <name> message`; those not
/// in `reached` are `unreachable` (`--all-objects`).
fn scan_tags(
    repo: &gix::Repository,
    rules: &Ruleset,
    opts: &HistoryOptions,
    tags: &BTreeSet<ObjectId>,
    reached: &BTreeSet<ObjectId>,
    misses: &Misses,
    tally: &mut ContentTally,
) -> Vec<Finding> {
    let copts = content_options(opts);
    let mut out = Vec::new();
    for id in tags {
        let Some(o) = misses.find(repo, *id, "tag", None) else {
            continue;
        };
        let Ok(t) = gix::objs::TagRef::from_bytes(&o.data, repo.object_hash()) else {
            misses.corrupt(*id, "tag", None);
            continue;
        };
        // The tag's name (its `tag` field) is text too, and names every other finding of the
        // tag with its secrets masked.
        let name = vigil_core::logging::printable(&t.name.to_str_lossy()).into_owned();
        let (name, mut found) = crate::meta::scan_name(
            rules,
            &copts,
            &name,
            Place::Tag,
            |n| format!("tag {n} name"),
            tally,
        );
        let mut parts: Vec<(&str, &[u8])> = vec![("message", t.message)];
        if let Some(tagger) = t.tagger {
            parts.push(("tagger", tagger));
        }
        for (part, text) in parts {
            let label = format!("tag {name} {part}");
            content::scan(rules, &copts, &label, None, text, &mut found, tally);
        }
        for mut f in found {
            f.unreachable = !reached.contains(id);
            f.place = Some(Place::Tag);
            out.push(f.seal());
        }
    }
    out
}

/// The full name of every ref (unreadable ones are counted where the tips are read).
fn ref_names(repo: &gix::Repository) -> Vec<String> {
    let Ok(platform) = repo.references() else {
        return Vec::new();
    };
    let Ok(all) = platform.all() else {
        return Vec::new();
    };
    all.flatten()
        .map(|r| r.name().as_bstr().to_str_lossy().into_owned())
        .collect()
}

/// The tips of every ref, peeled to commits. With `misses` (the refs a scan starts from), HEAD
/// is one of them too (a detached HEAD, as CI checks out a pull request, is on no branch), and a
/// ref that names no readable commit is never dropped in silence: a missing or corrupt tip, or
/// a tag whose object is gone, is counted missing or unreadable (the scan is incomplete), and a
/// ref to a tree or blob is counted unreadable unless `--all-objects` scans every object anyway.
fn ref_tips(
    repo: &gix::Repository,
    prefix: Option<&str>,
    misses: Option<&Misses>,
    all_objects: bool,
    tags: &mut BTreeSet<ObjectId>,
) -> Vec<ObjectId> {
    let mut out = BTreeSet::new();
    let unlisted = |what: &dyn std::fmt::Display| {
        if let Some(m) = misses {
            m.unlisted_ref(what);
        }
    };
    let platform = match repo.references() {
        Ok(p) => p,
        Err(e) => {
            unlisted(&e);
            return Vec::new();
        }
    };
    let iter = match prefix {
        Some(p) => platform.prefixed(p),
        None => platform.all(),
    };
    let iter = match iter {
        Ok(i) => i,
        Err(e) => {
            unlisted(&e);
            return Vec::new();
        }
    };
    let mut refs: Vec<gix::Reference<'_>> = Vec::new();
    for r in iter {
        match r {
            Ok(r) => refs.push(r),
            // A loose ref that does not parse (`garbage` in refs/heads/x), or that cannot be
            // read: git would refuse it too; it is named, and the scan is incomplete.
            Err(e) => unlisted(&e),
        }
    }
    if misses.is_some() {
        if let Ok(head) = repo.find_reference("HEAD") {
            refs.push(head);
        }
        // Every worktree's HEAD (the main one, each linked one): a detached one is on no
        // branch, and `git log --all` shows it.
        for id in worktree_heads(repo) {
            match repo
                .find_object(id)
                .ok()
                .and_then(|o| o.peel_to_kind(gix::object::Kind::Commit).ok())
            {
                Some(c) => {
                    tag_chain(repo, id, tags);
                    out.insert(c.id);
                }
                None => {
                    if let Some(m) = misses {
                        if m.find(repo, id, "worktree HEAD", None).is_some() {
                            m.corrupt(id, "worktree HEAD", None);
                        }
                    }
                }
            }
        }
    }
    for mut r in refs {
        let target = r.target().try_id().map(|id| id.to_owned());
        match r.peel_to_kind(gix::object::Kind::Commit) {
            Ok(c) => {
                if misses.is_some() && target.is_some_and(|t| t != c.id) {
                    // Peeled through annotated tags: their messages are scanned too.
                    tag_chain(repo, target.expect("checked"), tags);
                }
                out.insert(c.id);
            }
            Err(_) => {
                let Some(m) = misses else { continue };
                // A symbolic ref (HEAD) is judged by the ref it names, itself in the list; an
                // unborn HEAD (a new repository) names nothing yet.
                let Some(id) = target else { continue };
                let name = r.name().as_bstr().to_string();
                // Through annotated tags to what they name (their messages are scanned).
                let id = peel_tags(repo, id, tags);
                match m.find(repo, id, "ref tip", Some(&name)) {
                    // A tree or blob: `--all-objects` scans it with every other object.
                    Some(o)
                        if o.kind == gix::object::Kind::Tree
                            || o.kind == gix::object::Kind::Blob =>
                    {
                        if all_objects {
                            continue;
                        }
                        m.not_a_commit(id, &name);
                    }
                    // A tag whose target is gone or unreadable, or a commit that does not decode.
                    Some(_) => m.corrupt(id, "ref tip", Some(&name)),
                    None => {}
                }
            }
        }
    }
    out.into_iter().collect()
}

/// A commit's info, tree and parents; `message` is given each part of the commit's text to be
/// scanned, named (`message`, `author`, `committer`, `header <name>`).
fn commit_info(
    repo: &gix::Repository,
    id: ObjectId,
    misses: &Misses,
    message: &mut dyn FnMut(&CommitInfo, &str, &[u8]),
) -> Option<(CommitInfo, ObjectId, Vec<ObjectId>)> {
    let obj = misses.find(repo, id, "commit", None)?;
    // Bytes altered on disk are not what history recorded (as `git fsck` checks).
    let hashed = gix::objs::compute_hash(id.kind(), gix::object::Kind::Commit, &obj.data)
        .is_ok_and(|h| h == id);
    if !hashed {
        misses.corrupt(id, "commit (its content does not hash to its id)", None);
        return None;
    }
    let Ok(c) = gix::objs::CommitRef::from_bytes(&obj.data, repo.object_hash()) else {
        misses.corrupt(id, "commit", None);
        return None;
    };
    let author = c.author().ok();
    let (name, email, time) = match &author {
        Some(a) => (
            a.name.to_str_lossy().trim().to_owned(),
            a.email.to_str_lossy().trim().to_owned(),
            a.time().map(|t| t.seconds).unwrap_or(0),
        ),
        None => (String::new(), String::new(), 0),
    };
    let summary = c.message().summary().to_str_lossy().into_owned();
    let date = std::time::UNIX_EPOCH
        .checked_add(std::time::Duration::from_secs(time.max(0) as u64))
        .map(humantime_rfc3339)
        .unwrap_or_default();
    let parents: Vec<ObjectId> = c.parents().collect();
    let info = CommitInfo {
        id: id.to_string(),
        author: name,
        email,
        date,
        summary,
        time,
        newest: time.max(
            c.committer()
                .ok()
                .and_then(|x| x.time().ok())
                .map_or(i64::MAX, |t| t.seconds),
        ),
    };
    message(&info, "message", c.message);
    // The rest of the commit's text is history too: who made it (names and emails are free
    // text) and any extra header.
    message(&info, "author", c.author);
    message(&info, "committer", c.committer);
    if let Some(e) = c.encoding {
        message(&info, "header encoding", e);
    }
    for (name, value) in &c.extra_headers {
        let part = format!(
            "header {}",
            vigil_core::logging::printable(&name.to_str_lossy())
        );
        message(&info, &part, value.as_ref());
    }
    Some((info, c.tree(), parents))
}

/// RFC 3339 in UTC without a dependency: `2026-11-22T21:54:00Z`.
fn humantime_rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The deepest tree nesting walked, as git's own `core.maxTreeDepth` default: a deeper tree is
/// counted unreadable (the scan is incomplete) instead of overflowing the walk's stack.
const MAX_TREE_DEPTH: usize = 2048;

/// Stack of each tree-walking thread: room for [`MAX_TREE_DEPTH`] nested trees.
const WALK_STACK: usize = 64 << 20;

thread_local! {
    /// Objects this thread could not read so far: a commit or blob is cached only when its
    /// reading left this unchanged.
    static MISSED_HERE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many objects this thread could not read so far.
fn missed_here() -> usize {
    MISSED_HERE.with(|c| c.get())
}

/// How many gaps a tally holds (content a scan could not finish).
fn gaps(t: &ContentTally) -> u64 {
    t.too_deep + t.limited + t.corrupt + t.unsupported + t.decode_stopped + t.decode_too_deep
}

/// Objects a scan could not read, counted as missing (not in this clone) or unreadable (there
/// but corrupt), each object once however often it is met (a missing tree is met by every
/// commit that holds it and by each child's comparison), the first few named. Each is one
/// warning naming the object, never its content.
#[derive(Default)]
struct Misses<'r> {
    /// The scan's rules: a path a warning prints is masked with them first.
    rules: Option<&'r Ruleset>,
    missing: AtomicUsize,
    unreadable: AtomicUsize,
    /// The objects counted so far.
    met: Mutex<std::collections::HashSet<ObjectId>>,
    named: Mutex<Vec<String>>,
    /// Refs that name a tree or a blob (valid, but no commit to walk).
    not_commits: Mutex<Vec<String>>,
}

impl Misses<'_> {
    /// `path` as a warning prints it: every secret the rules find in it masked.
    fn shown(&self, path: Option<&str>) -> String {
        let p = path.unwrap_or("");
        match self.rules {
            Some(rules) if !p.is_empty() => crate::meta::scrub(rules, p),
            _ => p.to_owned(),
        }
    }

    /// How many objects are named in the summary and the reports.
    const NAMED: usize = 5;

    /// Reads an object, counting and naming it when it cannot be read.
    fn find<'r>(
        &self,
        repo: &'r gix::Repository,
        id: ObjectId,
        kind: &str,
        path: Option<&str>,
    ) -> Option<gix::Object<'r>> {
        match repo.try_find_object(id) {
            Ok(Some(o)) => Some(o),
            Ok(None) => {
                if self.first_time(id) {
                    self.missing.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(object = %id, path = %self.shown(path), "{kind} missing from this clone; skipped");
                }
                self.name(kind, id, path);
                None
            }
            Err(e) => {
                if self.first_time(id) {
                    self.unreadable.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(object = %id, path = %self.shown(path), error = %e, "{kind} unreadable; skipped");
                }
                self.name(kind, id, path);
                None
            }
        }
    }

    /// Checks the trailing checksum of every pack index and of the multi-pack-index: a damaged
    /// one can send an id's lookup to another object's entry (a parent's blob read as its
    /// child's hides the lines the child added), which no pack entry's own checksum notices.
    /// Each that fails, or cannot be opened, is counted unreadable and named.
    fn check_pack_indexes(&self, repo: &gix::Repository) {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let sound_index = |path: &Path| {
            gix::odb::pack::index::File::at(path, repo.object_hash()).is_ok_and(|f| {
                f.verify_checksum(&mut gix::progress::Discard, &stop)
                    .is_ok()
            })
        };
        let midx = repo
            .objects
            .store_ref()
            .path()
            .join("pack/multi-pack-index");
        let sound_midx = |path: &Path| {
            gix::odb::pack::multi_index::File::at(path, None).is_ok_and(|f| {
                f.verify_checksum(&mut gix::progress::Discard, &stop)
                    .is_ok()
            })
        };
        let damaged = crate::pack_trees::index_files(repo)
            .into_iter()
            .filter(|p| !sound_index(p))
            .chain(midx.exists().then_some(midx).filter(|p| !sound_midx(p)));
        for path in damaged {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let name = vigil_core::logging::printable(&name);
            self.unreadable.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(file = %name, "pack index fails its checksum; lookups through it are not trusted");
            self.name_text(format!("pack index {name} (fails its checksum)"));
        }
    }

    /// Whether `id` is met for the first time (it is then counted and warned about).
    fn first_time(&self, id: ObjectId) -> bool {
        self.met
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id)
    }

    /// Counts a ref that could not be read or parsed (named by the error, never its content).
    fn unlisted_ref(&self, error: &dyn std::fmt::Display) {
        self.unreadable.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(error = %self.shown(Some(&error.to_string())), "unreadable ref; the commits it names are not scanned");
        let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
        if named.len() < Self::NAMED {
            named.push(format!(
                "ref ({})",
                vigil_core::logging::printable(&error.to_string())
            ));
        }
    }

    /// Whether a blob's bytes hash to its id (as `git fsck` checks): bytes altered on disk are
    /// not what history recorded, so they are counted unreadable instead of scanned.
    fn matches(&self, id: ObjectId, data: &[u8], path: &str) -> bool {
        let ok = blob_hash_is(id, data);
        if !ok {
            self.corrupt(id, "blob (its content does not hash to its id)", Some(path));
        }
        ok
    }

    /// Counts a ref that names a tree or a blob: valid, but not scanned without
    /// `--all-objects` (the scan is incomplete, and says why).
    fn not_a_commit(&self, id: ObjectId, name: &str) {
        tracing::warn!(object = %id, ref = %self.shown(Some(name)), "ref names a tree or blob; scanned only with --all-objects");
        self.not_commits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("{} ({id})", vigil_core::logging::printable(name)));
    }

    /// Scans the Git LFS content a blob's bytes point at, when they are an LFS pointer: found on
    /// this machine, it is scanned as the blob at `path`; absent, it counts as a missing object
    /// (the scan is incomplete); not matching its `oid`, as an unreadable one.
    #[allow(clippy::too_many_arguments)]
    fn lfs(
        &self,
        common_dir: &Path,
        data: &[u8],
        rules: &Ruleset,
        opts: &ContentOptions,
        path: &str,
        commit: Option<&str>,
        out: &mut Vec<Finding>,
        tally: &mut ContentTally,
    ) {
        let Some(p) = crate::lfs::pointer(data) else {
            return;
        };
        let what = || {
            format!(
                "LFS object sha256:{}… ({})",
                &p.oid[..12],
                vigil_core::logging::printable(path)
            )
        };
        match crate::lfs::scan_object(common_dir, &p, rules, opts, path, commit, out, tally) {
            crate::lfs::Outcome::Scanned => {}
            crate::lfs::Outcome::Missing => {
                self.missing.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    path = %self.shown(Some(path)),
                    "Git LFS content not on this machine (git lfs fetch); not scanned"
                );
                self.name_text(what());
            }
            crate::lfs::Outcome::Corrupt => {
                self.unreadable.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    path = %self.shown(Some(path)),
                    "Git LFS content unreadable or not what its pointer names; not scanned"
                );
                self.name_text(what());
            }
        }
    }

    /// Counts an object that was read but could not be decoded.
    fn corrupt(&self, id: ObjectId, kind: &str, path: Option<&str>) {
        if self.first_time(id) {
            self.unreadable.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(object = %id, path = %self.shown(path), "corrupt {kind}; skipped");
        }
        self.name(kind, id, path);
    }

    fn name(&self, kind: &str, id: ObjectId, path: Option<&str>) {
        self.name_text(match path {
            Some(p) => format!("{kind} {id} ({})", vigil_core::logging::printable(p)),
            None => format!("{kind} {id}"),
        });
    }

    /// Names one object that could not be read. The summary keeps a few: the first few in
    /// sorted order, each once, so a report does not depend on which thread met which object
    /// first.
    fn name_text(&self, text: String) {
        MISSED_HERE.with(|c| c.set(c.get() + 1));
        let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
        match named.binary_search(&text) {
            Err(at) if at < Self::NAMED => {
                named.insert(at, text);
                named.truncate(Self::NAMED);
            }
            _ => {}
        }
    }

    /// Moves the counts into `stats`.
    fn into_stats(self, stats: &mut GitStats) {
        stats.not_commits.extend(
            self.not_commits
                .into_inner()
                .unwrap_or_else(|e| e.into_inner()),
        );
        stats.missing += self.missing.into_inner();
        stats.unreadable += self.unreadable.into_inner();
        let named = self.named.into_inner().unwrap_or_else(|e| e.into_inner());
        for n in named {
            if stats.named.len() < Self::NAMED {
                stats.named.push(n);
            }
        }
    }
}

/// Whether `data` is the blob `id` names: Git's object hash of it, by the SHA-1 instructions where
/// the CPU has them. A check against corruption (a pack or loose object that gives other bytes
/// than it was stored with), not against collision attacks, which Git's own object checks with
/// collision detection refuse when the objects are received.
fn blob_hash_is(id: ObjectId, data: &[u8]) -> bool {
    object_hash_is(gix::object::Kind::Blob, id, data)
}

/// Whether `data` is the object of `kind` that `id` names (see [`blob_hash_is`]).
pub(crate) fn object_hash_is(kind: gix::object::Kind, id: ObjectId, data: &[u8]) -> bool {
    use sha1::Digest;
    let ObjectId::Sha1(want) = id else {
        return gix::objs::compute_hash(id.kind(), kind, data).is_ok_and(|h| h == id);
    };
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("{} {}\0", kind, data.len()).as_bytes());
    hasher.update(data);
    hasher.finalize().as_slice() == want.as_slice()
}

/// A tree's entries: (name, is_tree, oid), blobs (symbolic links included) and trees only (no
/// gitlinks).
fn entries(
    repo: &gix::Repository,
    tree: ObjectId,
    misses: &Misses,
) -> Vec<(Vec<u8>, bool, ObjectId)> {
    let Some(obj) = misses.find(repo, tree, "tree", None) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in gix::objs::TreeRefIter::from_bytes(&obj.data, repo.object_hash()) {
        let Ok(e) = e else {
            misses.corrupt(tree, "tree", None);
            break;
        };
        let mode = e.mode;
        if mode.is_tree() {
            out.push((e.filename.to_vec(), true, e.oid.to_owned()));
        } else if mode.is_blob_or_symlink() {
            // A symbolic link's blob is its target, ordinary text (it can hold a secret).
            out.push((e.filename.to_vec(), false, e.oid.to_owned()));
        }
    }
    out
}

/// The names of a tree's gitlinks (submodules).
fn gitlinks(repo: &gix::Repository, tree: ObjectId, misses: &Misses) -> Vec<Vec<u8>> {
    let Some(obj) = misses.find(repo, tree, "tree", None) else {
        return Vec::new();
    };
    gix::objs::TreeRefIter::from_bytes(&obj.data, repo.object_hash())
        .filter_map(Result::ok)
        .filter(|e| e.mode.is_commit())
        .map(|e| e.filename.to_vec())
        .collect()
}

/// A smaller delta-base cache than gix's default 64 entries and 96 MB: its lookup is a linear
/// scan, and on a 6,000-commit history 16 slots measured faster than 8, 32, 64 or 256
/// (bench/scan-git-peers.sh). `bytes` is this handle's share of [`DELTA_BUDGET`].
fn delta_cache(repo: &mut gix::Repository, bytes: usize) {
    repo.objects.set_pack_cache(move || {
        Box::new(gix::odb::pack::cache::lru::StaticLinkedList::<DELTA_SLOTS>::new(bytes))
    });
}

/// Bytes of delta bases all worker threads keep together (each its share, at least 8 MiB): the
/// memory of a scan must not grow with the number of cores either.
const DELTA_BUDGET: usize = 64 << 20;

/// Bytes of raw trees all tree-walking threads keep together ([`TreeCache`]).
const TREE_BUDGET: usize = 16 << 20;

/// One thread's share of a budget shared by `threads` threads.
fn share(budget: usize, threads: usize) -> usize {
    (budget / threads.max(1)).max(8 << 20)
}

/// The delta cache of the handle that attributes findings (it reads few blobs, and keeps their
/// text in [`BlobLines`]).
const ATTRIBUTION_DELTA: usize = 8 << 20;

/// The handle that attributes findings is opened again after reading this many bytes of
/// objects: the pages of the packs it mapped are handed back.
const ATTRIBUTION_REOPEN: usize = 64 << 20;

const DELTA_SLOTS: usize = 16;

/// Histories shorter than this read their trees one by one.
const PRELOAD_MIN: usize = 200;

/// Stops the trees' decoding thread when the scan returns early (an error after the walk
/// started), so it does not go on decoding for nobody.
struct StopOnDrop(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Bytes of trees decoded ahead that are held in memory (the rest are spilled to a temporary
/// file: see [`crate::pack_trees::Trees`]). uv's history: 140 MB of trees; 64 MiB held peaked at
/// 340 MB resident, 16 MiB at 275 MB, in the same time.
const PRELOAD_BUDGET: usize = 16 << 20;

/// Blobs are read in pack order, in chunks of at most this span of a pack, each chunk through a
/// freshly opened object database: the pages of the pack a chunk mapped are released with it,
/// so resident memory does not grow with the size of the packs.
const CHUNK_SPAN: u64 = 16 << 20;

/// At most this many blobs per chunk (loose objects, which have no pack offset).
const CHUNK_BLOBS: usize = 20_000;

/// Raw tree objects a worker read recently: a commit's tree is its child's parent tree, and
/// workers take runs of neighbouring commits, so most parent trees are read once.
struct TreeCache<'a> {
    preloaded: &'a crate::pack_trees::Trees,
    map: HashMap<ObjectId, std::sync::Arc<[u8]>>,
    bytes: usize,
    budget: usize,
}

impl<'a> TreeCache<'a> {
    /// A worker's share of [`TREE_BUDGET`] (then it starts over): memory must not grow with
    /// history.
    fn new(preloaded: &'a crate::pack_trees::Trees, budget: usize) -> Self {
        TreeCache {
            preloaded,
            map: HashMap::new(),
            bytes: 0,
            budget,
        }
    }

    fn get(
        &mut self,
        repo: &gix::Repository,
        id: ObjectId,
        misses: &Misses,
    ) -> Option<std::sync::Arc<[u8]>> {
        if let Some(d) = self.map.get(&id) {
            return Some(d.clone());
        }
        let d: std::sync::Arc<[u8]> = match self.preloaded.get(&id) {
            Some((d, false)) => return Some(d),
            // Spilled trees were hashed when decoded.
            Some((d, true)) => d,
            None => {
                let o = misses.find(repo, id, "tree", None)?;
                // A tree altered on disk (a loose file replaced, a packed entry whose declared
                // size was damaged) would hide the blobs it no longer lists: its bytes must hash
                // to its id.
                if !object_hash_is(gix::object::Kind::Tree, id, &o.data) {
                    misses.corrupt(id, "tree (its content does not hash to its id)", None);
                    return None;
                }
                o.data.as_slice().into()
            }
        };
        if self.bytes + d.len() > self.budget {
            self.map.clear();
            self.bytes = 0;
        }
        self.bytes += d.len();
        self.map.insert(id, d.clone());
        Some(d)
    }
}

/// Collects the (path, blob) pairs of `tree` that are in none of `parents` (at the same path).
/// Entries are matched by binary search in the parents' sorted entries, borrowed from the object
/// buffers: no allocation per entry.
#[allow(clippy::too_many_arguments)]
fn introduced(
    repo: &gix::Repository,
    cache: &mut TreeCache<'_>,
    tree: ObjectId,
    parents: &[ObjectId],
    prefix: &mut Vec<u8>,
    depth: usize,
    misses: &Misses,
    out: &mut Vec<Pair>,
    links: &mut Vec<String>,
) {
    if parents.contains(&tree) {
        return;
    }
    if depth > MAX_TREE_DEPTH {
        // Deeper than git itself reads (`core.maxTreeDepth`): not walked, and the scan says so.
        let shown = String::from_utf8_lossy(&prefix[..prefix.len().min(60)]).into_owned();
        misses.corrupt(
            tree,
            "tree nested deeper than 2048 levels",
            Some(&format!("{shown}… ({} bytes of path)", prefix.len())),
        );
        return;
    }
    let hash = repo.object_hash();
    let Some(obj) = cache.get(repo, tree, misses) else {
        return;
    };
    let parent_objs: Vec<_> = parents
        .iter()
        .filter_map(|p| cache.get(repo, *p, misses))
        .collect();
    let parent_entries: Vec<Vec<gix::objs::tree::EntryRef<'_>>> = parent_objs
        .iter()
        .map(|o| {
            gix::objs::TreeRefIter::from_bytes(o, hash)
                .filter_map(Result::ok)
                .collect()
        })
        .collect();
    for e in gix::objs::TreeRefIter::from_bytes(&obj, hash) {
        let Ok(e) = e else {
            misses.corrupt(tree, "tree", None);
            break;
        };
        let is_tree = e.mode.is_tree();
        if e.mode.is_commit() {
            // A gitlink (submodule) is not content, but its path is a tree entry git sends: a
            // path no parent has as a gitlink is scanned as a name.
            let known = parent_entries.iter().any(|pe| {
                pe.binary_search_by(|x| x.cmp(&e))
                    .is_ok_and(|k| pe[k].mode.is_commit())
            });
            if !known {
                let mut p = prefix.clone();
                if !p.is_empty() {
                    p.push(b'/');
                }
                p.extend_from_slice(e.filename);
                links.push(path_text(&p));
            }
            continue;
        }
        if !is_tree && !e.mode.is_blob_or_symlink() {
            continue; // a symbolic link's target is text, scanned
        }
        let mut subs: Vec<ObjectId> = Vec::new();
        let mut same = false;
        let mut before: Option<ObjectId> = None;
        for pe in &parent_entries {
            if let Ok(k) = pe.binary_search_by(|x| x.cmp(&e)) {
                let p = pe[k];
                if p.mode.is_tree() == is_tree {
                    if p.oid == e.oid {
                        same = true;
                        break;
                    }
                    if is_tree {
                        subs.push(p.oid.to_owned());
                    } else if before.is_none() {
                        before = Some(p.oid.to_owned());
                    }
                }
            }
        }
        if same {
            continue;
        }
        let len = prefix.len();
        if !prefix.is_empty() {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(e.filename);
        if is_tree {
            introduced(
                repo,
                cache,
                e.oid.to_owned(),
                &subs,
                prefix,
                depth + 1,
                misses,
                out,
                links,
            );
        } else {
            out.push((path_text(prefix), e.oid.to_owned(), before));
        }
        prefix.truncate(len);
    }
}

/// A path as reports show it, losslessly and injectively: UTF-8 without a backslash or `!` as
/// it is; otherwise every byte that is not UTF-8 as `\xNN`, every backslash as `\\` (a lossy
/// `�` would make two paths one and hide which file holds the secret, and a name that holds
/// `\xfe` literally must not read as the byte 0xFE) and every `!` as `\x21` (`!` separates an
/// archive from its member: a file named `app.zip!conf.txt` must not share a name, a
/// fingerprint or an ignore entry with the member `conf.txt` of `app.zip`).
pub(crate) fn path_text(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        if !s.contains(['\\', '!']) {
            return s.to_owned();
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(&chunk.valid().replace('\\', "\\\\").replace('!', "\\x21"));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The tree of a commit, read without decoding the rest of it.
fn tree_of(repo: &gix::Repository, commit: ObjectId, misses: &Misses) -> Option<ObjectId> {
    let obj = misses.find(repo, commit, "commit", None)?;
    let tree = gix::objs::CommitRefIter::from_bytes(&obj.data, repo.object_hash())
        .tree_id()
        .ok();
    if tree.is_none() {
        misses.corrupt(commit, "commit", None);
    }
    tree
}

/// Every commit of the object database that the walk did not reach is added to `commits`
/// (returned by id, to mark their findings); every blob of it is returned, for those no commit
/// holds. An object database that cannot be listed stops nothing silently: it counts as a walk
/// that stopped.
fn unreachable_objects(
    repo: &gix::Repository,
    commits: &mut Vec<ObjectId>,
    walk_stopped: &mut usize,
    tags: &mut BTreeSet<ObjectId>,
    misses: &Misses,
) -> (std::collections::HashSet<String>, Vec<ObjectId>) {
    let reachable: std::collections::HashSet<ObjectId> = commits.iter().copied().collect();
    let mut extra = std::collections::BTreeSet::new();
    let mut blobs = Vec::new();
    match repo.objects.store_ref().iter() {
        Ok(all) => {
            for id in all {
                let Ok(id) = id else {
                    *walk_stopped += 1;
                    continue;
                };
                // An object listed whose header cannot be read (a damaged loose object) could be
                // anything, a blob with a secret among them: the scan is incomplete.
                let kind = match repo.try_find_header(id) {
                    Ok(Some(h)) => Some(h.kind()),
                    Ok(None) | Err(_) => {
                        misses.corrupt(id, "object (its header cannot be read)", None);
                        None
                    }
                };
                match kind {
                    Some(gix::object::Kind::Commit) if !reachable.contains(&id) => {
                        extra.insert(id);
                    }
                    Some(gix::object::Kind::Blob) => blobs.push(id),
                    Some(gix::object::Kind::Tag) => {
                        tags.insert(id);
                    }
                    _ => {}
                }
            }
        }
        Err(e) => {
            *walk_stopped += 1;
            tracing::warn!(error = %e, "the object database could not be listed");
        }
    }
    blobs.sort_unstable();
    blobs.dedup();
    commits.extend(extra.iter().copied());
    (extra.iter().map(|c| c.to_string()).collect(), blobs)
}

/// Whether objects may be missing by design: promisor packs or `extensions.partialClone`.
fn is_partial_clone(repo: &gix::Repository) -> bool {
    let config = repo.config_snapshot();
    if config.string("extensions.partialClone").is_some() {
        return true;
    }
    let dir = repo.objects.store_ref().path().join("pack");
    std::fs::read_dir(dir).is_ok_and(|d| {
        d.flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "promisor"))
    })
}

/// Scans history as the options say. Findings carry the commit and its author, date and summary.
pub fn scan_history(
    path: &Path,
    rules: &Ruleset,
    opts: &HistoryOptions,
) -> Result<(Vec<Finding>, GitStats), GitError> {
    scan_history_with(path, rules, opts, &|_| {})
}

/// [`scan_history`], calling `progress` with the size of each blob read (a progress bar).
pub fn scan_history_with(
    path: &Path,
    rules: &Ruleset,
    opts: &HistoryOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Vec<Finding>, GitStats), GitError> {
    scan_history_progress(path, rules, opts, &|p| {
        if let Progress::Blob(n) = p {
            progress(n)
        }
    })
}

/// [`scan_history`], telling `progress` of each run of commits compared and each blob read.
pub fn scan_history_progress(
    path: &Path,
    rules: &Ruleset,
    opts: &HistoryOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(Vec<Finding>, GitStats), GitError> {
    let repo = open(path)?;
    let misses = Misses {
        rules: Some(rules),
        ..Misses::default()
    };
    misses.check_pack_indexes(&repo);
    let mut hidden: Vec<ObjectId> = Vec::new();
    // Annotated tags met on the way to the tips: their messages are scanned.
    let mut tags = BTreeSet::new();
    let tips: Vec<ObjectId> = if !opts.tips.is_empty() || opts.local_refs {
        let mut t = Vec::new();
        for tip in &opts.tips {
            t.push(resolve(&repo, "--pre-push", tip, &mut tags)?);
        }
        if opts.local_refs {
            for prefix in ["refs/heads/", "refs/tags/"] {
                t.extend(ref_tips(&repo, Some(prefix), None, false, &mut tags));
            }
            if let Ok(head) = resolve(&repo, "--pre-push", "HEAD", &mut tags) {
                t.push(head);
            }
            t.sort();
            t.dedup();
        }
        for h in &opts.hidden {
            // What the remote has may not exist here (a force-push target); then nothing hides.
            if let Ok(id) = resolve(&repo, "--pre-push", h, &mut BTreeSet::new()) {
                hidden.push(id);
            }
        }
        t
    } else if let Some(range) = &opts.range {
        let bad = |message: &str| GitError::Range {
            rev: range.clone(),
            message: message.to_owned(),
        };
        let (a, b) = range
            .split_once("..")
            .ok_or_else(|| bad("not a range (expected A..B)"))?;
        if b.starts_with('.') {
            return Err(bad(
                "A...B (symmetric difference) is not supported; use A..B",
            ));
        }
        hidden.push(resolve(&repo, "--range", a, &mut BTreeSet::new())?);
        vec![resolve(
            &repo,
            "--range",
            if b.is_empty() { "HEAD" } else { b },
            &mut tags,
        )?]
    } else if let Some(b) = &opts.branch {
        vec![resolve(&repo, "--branch", b, &mut tags)?]
    } else {
        ref_tips(&repo, None, Some(&misses), opts.all_objects, &mut tags)
    };
    let mut unverified = None;
    if let Some(ask) = &opts.ask_remote {
        match advertised(&repo, ask) {
            Ok(ids) => hidden.extend(ids),
            Err(why) => unverified = Some(why),
        }
    }
    // A tip the remote already has sends no commit.
    let mut tips = tips;
    tips.retain(|t| !hidden.contains(t));
    let shallow: std::collections::HashSet<ObjectId> = repo
        .shallow_commits()
        .ok()
        .flatten()
        .map(|c| c.iter().copied().collect())
        .unwrap_or_default();
    let copts = content_options(opts);
    // Not with watched configuration files: which of them the commits modify is learned from
    // the trees the cache would skip.
    let mut cache = if opts.cache && !opts.all_objects && opts.watch.is_empty() {
        HistoryCache::open(&repo, rules, &copts)
    } else {
        None
    };
    // A whole history with nothing cached reads (nearly) every tree: they are decoded on a
    // thread of their own while the commits are walked (each took a second of uv's history on
    // one core), in pack order through 16 MiB windows of the pack: decoded through their delta
    // families on every thread instead (session 18), they touched pages all over the pack at
    // once, and a warm page cache mapped them all (IBM/mcp-context-forge: 336 MB of the pack
    // resident, a 404 MB peak). A history found too short for it stops the decoding.
    let whole = hidden.is_empty() && opts.since.is_none() && !tips.is_empty();
    let stop_preload = StopOnDrop(std::sync::Arc::default());
    let preloading = (whole && cache.as_ref().is_none_or(HistoryCache::is_empty)).then(|| {
        let (path, stop) = (path.to_owned(), stop_preload.0.clone());
        std::thread::spawn(move || {
            open(&path)
                .map(|repo| crate::pack_trees::load(&repo, PRELOAD_BUDGET, &stop))
                .unwrap_or_default()
        })
    });
    let mut commits: Vec<ObjectId> = Vec::new();
    let mut walk_stopped = 0;
    match cache
        .as_ref()
        .filter(|c| !c.is_empty() && hidden.is_empty())
    {
        Some(c) if !tips.is_empty() => {
            commits = cached_walk(&repo, &tips, c, &shallow, &mut walk_stopped);
        }
        _ if !tips.is_empty() => {
            let walk = repo
                .rev_walk(tips.clone())
                .with_hidden(hidden.clone())
                .use_commit_graph(false)
                .all()
                .map_err(|e| GitError::Walk {
                    message: e.to_string(),
                })?;
            for info in walk {
                match info {
                    Ok(i) => commits.push(i.id),
                    Err(e) => {
                        // A missing commit ends that line of history: the scan is incomplete.
                        walk_stopped += 1;
                        tracing::warn!(error = %e, "history walk stopped on a line");
                    }
                }
            }
        }
        _ => {}
    }
    tracing::debug!(commits = commits.len(), "history walked");
    let reached_tags = tags.clone();
    let (unreachable_commits, mut dangling) = if opts.all_objects {
        unreachable_objects(&repo, &mut commits, &mut walk_stopped, &mut tags, &misses)
    } else {
        Default::default()
    };
    let backdated = opts
        .since
        .map_or(0, |since| since_filter(&repo, &mut commits, since));
    if backdated > 0 {
        tracing::warn!(
            backdated,
            "commit(s) dated before --since but made after a newer commit, or merged by one, are scanned"
        );
    }
    let mut tally = ContentTally::default();
    // Commits an earlier scan read whole: their findings are read back from their blobs, their
    // trees are not compared again.
    let mut replayed = match &cache {
        Some(c) if !c.is_empty() => replay(&repo, rules, opts, c, &mut commits, &shallow, &misses),
        _ => Replayed::default(),
    };
    let incremental = replayed.commits > 0;
    let partial = !hidden.is_empty() || opts.since.is_some();
    tracing::debug!(
        cached = replayed.commits,
        findings = replayed.findings.len(),
        "history cache read"
    );
    // A whole history reads (nearly) every tree: decode them all once, in pack order. A range,
    // a push or a date limit reads a few, and is better served object by object.
    let long = commits.len() >= PRELOAD_MIN;
    let preloaded = match preloading {
        Some(thread) => {
            stop_preload.0.store(!long, Ordering::Relaxed);
            let trees = thread.join().unwrap_or_default();
            if long {
                trees
            } else {
                crate::pack_trees::Trees::new()
            }
        }
        None if whole && long => crate::pack_trees::load(&repo, PRELOAD_BUDGET, &stop_preload.0),
        None => crate::pack_trees::Trees::new(),
    };
    // The walk mapped the commit part of the packs and their index through this handle: a
    // fresh one holds none of those pages while the trees are compared.
    drop(repo);
    let repo = open(path)?;
    let per_commit_pairs = compare_trees(
        &repo, rules, &commits, opts, &preloaded, &shallow, &misses, &mut tally, progress,
    );
    let mut out = scan_tags(
        &repo,
        rules,
        opts,
        &tags,
        &reached_tags,
        &misses,
        &mut tally,
    );
    out.extend(std::mem::take(&mut replayed.findings));
    // Ref names are text: every ref's for a whole-history scan, the pushed ones for a push.
    let whole =
        opts.tips.is_empty() && !opts.local_refs && opts.range.is_none() && opts.branch.is_none();
    let names = if whole {
        ref_names(&repo)
    } else {
        opts.ref_names.clone()
    };
    for name in names {
        let name = vigil_core::logging::printable(&name).into_owned();
        let (_, found) = crate::meta::scan_name(
            rules,
            &copts,
            &name,
            Place::Ref,
            |n| format!("ref {n}"),
            &mut tally,
        );
        out.extend(found);
    }
    let unreachable_tags = tags.len() - reached_tags.len();
    drop(tags);
    drop(preloaded);
    // The walk and the tree comparison mapped the commit and tree parts of the packs: a fresh
    // handle releases those pages before the blobs are read.
    drop(repo);
    let mut repo = open(path)?;
    delta_cache(&mut repo, ATTRIBUTION_DELTA);
    let shallow_reached = commits.iter().filter(|c| shallow.contains(*c)).count();
    // What every commit keeps while its blobs are read is its id and times; the texts of the few
    // commits a finding names are read again (`Details`).
    let mut infos: Vec<CommitRow> = Vec::with_capacity(per_commit_pairs.len());
    let mut details = Details::default();
    let mut pairs: Vec<(String, ObjectId)> = Vec::new();
    let mut pair_index: HashMap<(String, ObjectId), usize> = HashMap::new();
    let mut attributions: Vec<(usize, usize, Option<ObjectId>)> = Vec::new();
    let mut parents_of: Vec<Vec<ObjectId>> = Vec::new();
    // Per commit: whether it was read whole, and whether its message held a finding.
    let mut whole_of: Vec<bool> = Vec::new();
    let mut said_of: Vec<bool> = Vec::new();
    for (row, kept, parents, found, said, whole) in per_commit_pairs.into_iter().flatten() {
        let ci = infos.len();
        said_of.push(!said.is_empty());
        whole_of.push(whole);
        if let Some(info) = kept {
            for f in said {
                out.push(attributed(f, &info, &unreachable_commits));
            }
            details.kept.insert(ci, *info);
        }
        infos.push(row);
        parents_of.push(parents);
        for (path, oid, before) in found {
            let pair = (path, oid);
            let next = pairs.len();
            let pi = *pair_index.entry(pair.clone()).or_insert(next);
            if pi == next {
                pairs.push(pair);
            }
            attributions.push((pi, ci, before));
        }
    }
    drop(pair_index);
    tracing::debug!(pairs = pairs.len(), "trees compared");
    // The base of a change set: parents of scanned commits that are not scanned.
    let mut bases: Vec<String> = Vec::new();
    if !hidden.is_empty()
        || opts.since.is_some()
        || !opts.tips.is_empty()
        || opts.local_refs
        || opts.range.is_some()
    {
        let scanned: std::collections::HashSet<String> = infos
            .iter()
            .map(|i| i.id.to_string())
            .chain(replayed.list.iter().map(|k| k.id.to_string()))
            .collect();
        let mut seen = BTreeSet::new();
        // Commits replayed from the history cache count as scanned ones: their parents are
        // bases too (else a cached run of a range would have none, and the base's
        // configuration would not apply).
        let all_parents = || {
            parents_of
                .iter()
                .chain(replayed.list.iter().map(|k| &k.parents))
        };
        for p in all_parents().flatten() {
            let hex = p.to_string();
            if !scanned.contains(&hex) && seen.insert(hex.clone()) {
                bases.push(hex);
            }
        }
        // A scanned root commit (a new orphan ref, a first push) builds on nothing: its base
        // is the built-in configuration, never the working tree's alone.
        if all_parents().any(|p| p.is_empty()) {
            bases.push(NO_BASE.to_owned());
        }
    }
    let mut touched: Vec<String> = opts
        .watch
        .iter()
        .filter(|w| pairs.iter().any(|(p, _)| p == *w))
        .cloned()
        .collect();
    touched.dedup();
    let mut stats = GitStats {
        commits: infos.len() + replayed.commits,
        cached: replayed.commits,
        blobs: pairs.len(),
        // Only a walk that reached the boundary misses history: a range or a push that stays
        // above it is whole.
        shallow: shallow_reached,
        partial_clone: is_partial_clone(&repo),
        walk_stopped,
        unreachable: unreachable_commits.len() + unreachable_tags,
        content: tally,
        push_unverified: unverified,
        touched,
        bases,
        ..GitStats::default()
    };
    // With commit allowlists the answer depends on the commit: scan per attribution then.
    let per_commit = rules.has_commit_allowlists();
    // Borrowed from `pairs` and `infos`: a copy of every path would double them while the blobs
    // are read.
    let hex_ids: Vec<String> = if per_commit {
        infos.iter().map(|i| i.id.to_string()).collect()
    } else {
        Vec::new()
    };
    let jobs: Vec<Job<'_>> = if per_commit {
        attributions
            .iter()
            .map(|&(pi, ci, _)| {
                (
                    pairs[pi].0.as_str(),
                    pairs[pi].1,
                    Some(hex_ids[ci].as_str()),
                )
            })
            .collect()
    } else {
        pairs.iter().map(|(p, o)| (p.as_str(), *o, None)).collect()
    };
    let (results, dirty) = scan_blobs(&repo, rules, &jobs, opts, &mut stats, &misses, progress);
    drop(jobs);
    drop(hex_ids);
    for (n, &(pi, ci, _)) in attributions.iter().enumerate() {
        if dirty[if per_commit { n } else { pi }] {
            whole_of[ci] = false;
        }
    }
    drop(dirty);
    tracing::debug!(
        findings = results.iter().map(Vec::len).sum::<usize>(),
        "blobs scanned"
    );
    // A secret is reported at each commit that adds it to a file, as a diff would show it
    // (gitleaks's `git log -p`): not where its lines were already in the parent's version of
    // the file (an edit elsewhere in the file, a merge), nor where the whole file was renamed
    // from a path its parent had (a copy beside its source is a new file, as git shows it). Commits are ordered parents
    // first (between unrelated lines, the older author date first). A secret inside an archive
    // has no lines to compare: it is reported once, at the oldest commit that holds it.
    // Cached commits are ordered with the others (from their cached parents and dates), so what
    // is reported once lands where a scan without the cache puts it. Index `infos.len() + k` is
    // the cache's `k`th commit.
    let fresh = infos.len();
    let order = {
        let mut ids: Vec<ObjectId> = infos.iter().map(|i| i.id).collect();
        let mut times: Vec<i64> = infos.iter().map(|i| i.time).collect();
        // The cached commits' parents follow the fresh ones' (indexes past `fresh`); the fresh
        // ones' stay where they are.
        for k in &replayed.list {
            ids.push(k.id);
            parents_of.push(k.parents.clone());
            times.push(k.time);
        }
        topo_order(&ids, &parents_of, &times)
    };
    // A path is text too: each distinct path, at the oldest commit that introduced it.
    let mut path_at: HashMap<&str, Vec<usize>> = HashMap::new();
    for &(pi, ci, _) in &attributions {
        path_at.entry(pairs[pi].0.as_str()).or_default().push(ci);
    }
    for (k, known) in replayed.list.iter().enumerate() {
        for p in &known.paths {
            path_at.entry(p.as_str()).or_default().push(fresh + k);
        }
    }
    // Per fresh commit: the paths it introduced whose text holds a finding (for the cache).
    let mut paths_of: HashMap<usize, Vec<String>> = HashMap::new();
    for (path, at) in path_at {
        let (_, found) = crate::meta::scan_name(
            rules,
            &copts,
            path,
            Place::Path,
            |n| n.to_owned(),
            &mut stats.content,
        );
        if found.is_empty() {
            continue;
        }
        if cache.is_some() {
            for &c in at.iter().filter(|&&c| c < fresh) {
                paths_of.entry(c).or_default().push(path.to_owned());
            }
        }
        let Some(c) = at.iter().copied().min_by_key(|&c| order[c]) else {
            continue;
        };
        let info = if c < fresh {
            details.of(&repo, c, &infos[c], &misses).clone()
        } else {
            match &replayed.list[c - fresh].info {
                Some(info) => info.clone(),
                None => continue,
            }
        };
        for f in found {
            out.push(attributed(f, &info, &unreachable_commits));
        }
    }
    let mut blob_first: HashMap<ObjectId, (usize, usize)> = HashMap::new();
    for &(pi, ci, _) in &attributions {
        let e = blob_first.entry(pairs[pi].1).or_insert((order[ci], pi));
        if order[ci] < e.0 {
            *e = (order[ci], pi);
        }
    }
    // A secret inside an archive: at the oldest commit holding it, cached commits included.
    let mut first: HashMap<(String, String), usize> = HashMap::new();
    let archived = attributions
        .iter()
        .enumerate()
        .flat_map(|(n, &(pi, ci, _))| {
            results[if per_commit { n } else { pi }]
                .iter()
                .map(move |f| (ci, f))
        })
        .chain(
            replayed
                .list
                .iter()
                .enumerate()
                .flat_map(|(k, known)| known.archives.iter().map(move |f| (fresh + k, f))),
        )
        .filter(|(_, f)| !f.archive.is_empty());
    for (ci, f) in archived {
        let key = (f.rule.clone(), f.secret.expose_secret().clone());
        let e = first.entry(key).or_insert(ci);
        if order[ci] < order[*e] {
            *e = ci;
        }
    }
    for (k, known) in replayed.list.iter().enumerate() {
        let Some(info) = &known.info else { continue };
        for f in &known.archives {
            let key = (f.rule.clone(), f.secret.expose_secret().clone());
            if first.get(&key) == Some(&(fresh + k)) {
                out.push(attributed(f.clone(), info, &unreachable_commits));
            }
        }
    }
    // What each commit reports, by blob, for the cache; and the archives' findings it holds.
    let mut held: HashMap<usize, Vec<Held>> = HashMap::new();
    let mut archives_of: HashMap<usize, Vec<Held>> = HashMap::new();
    let mut lines = BlobLines::default();
    // The blobs whose findings are judged against a parent's version, with those versions,
    // decoded ahead through their packs' delta trees on every thread (read one by one, most of
    // them large, they were the scan's single-threaded tail: uv, 3 seconds).
    let compared: Vec<(&str, ObjectId, ObjectId)> = attributions
        .iter()
        .enumerate()
        .filter_map(|(n, &(pi, _, before))| {
            let found = &results[if per_commit { n } else { pi }];
            let judged = found.iter().any(|f| f.archive.is_empty());
            before
                .filter(|_| judged)
                .map(|b| (pairs[pi].0.as_ref(), pairs[pi].1, b))
        })
        .collect();
    lines.prepare(&repo, compared, worker_threads(opts));
    // What this scan found in each (path, blob), to judge whether an earlier version already
    // reported a finding; versions it did not read are scanned here.
    let mut result_of: Vec<usize> = (0..pairs.len()).collect();
    if per_commit {
        for (n, &(pi, _, _)) in attributions.iter().enumerate().rev() {
            result_of[pi] = n;
        }
    }
    let mut earlier_found = EarlierFound {
        rules,
        opts: &copts,
        pairs: pairs
            .iter()
            .enumerate()
            .map(|(pi, (p, o))| ((p.as_str(), *o), result_of[pi]))
            .collect(),
        results: &results,
        scanned: HashMap::new(),
    };
    drop(result_of);
    for (n, (pi, ci, before)) in attributions.into_iter().enumerate() {
        let found = &results[if per_commit { n } else { pi }];
        if found.is_empty() {
            continue;
        }
        if lines.read > ATTRIBUTION_REOPEN {
            // Hands back the pages of the packs this handle mapped.
            drop(repo);
            repo = open(path)?;
            delta_cache(&mut repo, ATTRIBUTION_DELTA);
            lines.read = 0;
        }
        let (path, oid) = &pairs[pi];
        let (first_rank, first_pi) = blob_first[oid];
        // A rename (git's default diff finds renames, not copies): another path that history
        // gave this blob held it in a parent and no longer does here. A copy beside its source
        // is a new file to git, and so a new leak.
        let here = infos[ci].id;
        // As git pairs them: the path is new here and the source is gone here (a secret moved
        // from one existing file into another is added to that file; tester helper-118 M1).
        let renamed_from: Option<String> =
            if first_rank < order[ci] && pairs[first_pi].0 != *path && before.is_none() {
                pairs
                    .iter()
                    .filter(|(p, o)| o == oid && p != path)
                    .find(|(src, _)| {
                        parents_of[ci]
                            .iter()
                            .any(|p| blob_at(&repo, *p, src) == Some(*oid))
                            && blob_at(&repo, here, src).is_none()
                    })
                    .map(|(src, _)| src.clone())
            } else if (incremental || partial) && before.is_none() {
                // With cached commits, or a part of history (--since, --range, a push), the
                // blob's earlier paths may not be among this scan's pairs: the parents are asked.
                renamed_from_parent(&repo, here, &parents_of[ci], path, *oid)
            } else {
                None
            };
        // A merge's other parents' versions of the file, read once, when a finding asks.
        let mut other_versions: Option<Vec<ObjectId>> = None;
        for f in found {
            if !f.archive.is_empty() {
                if cache.is_some() {
                    record(archives_of.entry(ci).or_default(), path, oid, f);
                }
                let key = (f.rule.clone(), f.secret.expose_secret().clone());
                if first.get(&key) != Some(&ci) {
                    continue;
                }
                let info = details.of(&repo, ci, &infos[ci], &misses);
                out.push(attributed(f.clone(), info, &unreachable_commits));
                continue;
            }
            // Not new only if the earlier version also reported it: a secret whose line stays
            // but whose `nextline` marker above it was removed, or a file renamed out of an
            // allowlisted folder, is reported where it stops being allowed (tester helper-115
            // #1, #2).
            let earlier = match (&renamed_from, before) {
                (Some(src), _) => Some((src.as_str(), *oid)),
                (None, Some(b)) if lines.already_in(&repo, *oid, b, f.line, f.end_line) => {
                    Some((path.as_str(), b))
                }
                _ => None,
            };
            if let Some((at, blob)) = earlier {
                if earlier_found.reported(&repo, &mut lines, at, blob, f) {
                    continue;
                }
            }
            // A merge: the line may come from another parent, where it was reported (both
            // branches edited the file; tester helper-115 #5). Asked only for findings the
            // first parent does not explain, so a plain history never reads a tree here.
            if parents_of[ci].len() > 1 {
                let versions = other_versions.get_or_insert_with(|| {
                    parents_of[ci][1..]
                        .iter()
                        .filter_map(|p| blob_at(&repo, *p, path))
                        .collect::<Vec<_>>()
                });
                let merged = versions.iter().any(|&b| {
                    lines.already_in(&repo, *oid, b, f.line, f.end_line)
                        && earlier_found.reported(&repo, &mut lines, path, b, f)
                });
                if merged {
                    continue;
                }
            }
            if cache.is_some() {
                record(held.entry(ci).or_default(), path, oid, f);
            }
            let info = details.of(&repo, ci, &infos[ci], &misses);
            out.push(attributed(f.clone(), info, &unreachable_commits));
        }
    }
    drop(lines);
    if let Some(c) = &mut cache {
        for (ci, info) in infos.iter().enumerate() {
            let id = info.id;
            // A commit that introduces a path whose name holds a secret is not kept: the cache
            // would hold the secret in clear (and keep it after the history is purged).
            if whole_of[ci] && !paths_of.contains_key(&ci) {
                c.insert(
                    id,
                    Entry {
                        parents: parents_of[ci].iter().map(|p| p.to_string()).collect(),
                        newest: info.newest,
                        message: said_of[ci],
                        found: held.remove(&ci).unwrap_or_default(),
                        time: info.time,
                        paths: paths_of.remove(&ci).unwrap_or_default(),
                        archives: archives_of.remove(&ci).unwrap_or_default(),
                    },
                );
            }
        }
    }
    if !dangling.is_empty() {
        // Blobs no commit holds: scanned under their id, with no commit to attribute.
        let held: std::collections::HashSet<ObjectId> = pairs.iter().map(|p| p.1).collect();
        dangling.retain(|b| !held.contains(b));
        stats.unreachable += dangling.len();
        let names: Vec<String> = dangling
            .iter()
            .map(|b| format!("unreachable:{b}"))
            .collect();
        let jobs: Vec<Job<'_>> = dangling
            .iter()
            .zip(&names)
            .map(|(b, name)| (name.as_str(), *b, None))
            .collect();
        let mut extra = GitStats::default();
        let (found, _) = scan_blobs(&repo, rules, &jobs, opts, &mut extra, &misses, progress);
        stats.blobs += jobs.len();
        stats.bytes += extra.bytes;
        stats.skipped += extra.skipped;
        stats.content.add(&extra.content);
        for f in found.into_iter().flatten() {
            let mut f = f;
            f.unreachable = true;
            out.push(f.seal());
        }
    }
    misses.into_stats(&mut stats);
    if let Some(c) = cache {
        c.save(|id| repo.has_object(id));
    }
    out.sort_by(|a, b| (&a.file, a.line, &a.commit).cmp(&(&b.file, b.line, &b.commit)));
    Ok((out, stats))
}

/// Adds finding `f` of blob `oid` at `path` to a commit's list for the cache.
fn record(list: &mut Vec<Held>, path: &str, oid: &ObjectId, f: &Finding) {
    let blob = oid.to_string();
    match list.iter_mut().find(|h| h.path == path && h.blob == blob) {
        Some(h) => h.places.push(Spot::of(f)),
        None => list.push(Held {
            path: path.to_owned(),
            blob,
            places: vec![Spot::of(f)],
        }),
    }
}

/// The walk of a history the cache knows: a known commit's parents come from the cache, and only
/// commits it does not know are read. Shallow boundary commits count as roots; a commit that
/// cannot be read stops its line (counted in `stopped`).
fn cached_walk(
    repo: &gix::Repository,
    tips: &[ObjectId],
    cache: &HistoryCache,
    shallow: &std::collections::HashSet<ObjectId>,
    stopped: &mut usize,
) -> Vec<ObjectId> {
    let mut seen: std::collections::HashSet<ObjectId> = std::collections::HashSet::new();
    let mut stack: Vec<ObjectId> = tips.to_vec();
    let mut out = Vec::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let parents: Vec<ObjectId> = match cache.get(&id) {
            // Known, and still here (a commit deleted since stops its line, as in a walk).
            Some(e) if repo.has_object(id) => e
                .parents
                .iter()
                .filter_map(|p| ObjectId::from_hex(p.as_bytes()).ok())
                .collect(),
            _ => match repo.try_find_object(id) {
                Ok(Some(o)) if o.kind == gix::object::Kind::Commit => {
                    gix::objs::CommitRefIter::from_bytes(&o.data, repo.object_hash())
                        .parent_ids()
                        .collect()
                }
                _ => {
                    *stopped += 1;
                    tracing::warn!(object = %id, "history walk stopped on a line");
                    continue;
                }
            },
        };
        out.push(id);
        if !shallow.contains(&id) {
            stack.extend(parents);
        }
    }
    out
}

/// What the cache gave back: findings of the commits it knows, and how many commits.
#[derive(Default)]
struct Replayed {
    findings: Vec<Finding>,
    commits: usize,
    /// Every commit it took out of the walk.
    list: Vec<Known>,
}

/// A commit the cache knows: what orders it among the others, and what it holds that is
/// reported once, at the oldest commit holding it.
struct Known {
    id: ObjectId,
    parents: Vec<ObjectId>,
    time: i64,
    /// Read when it holds something reported once.
    info: Option<CommitInfo>,
    /// Paths it introduced whose text holds a finding.
    paths: Vec<String>,
    /// Findings inside archives among its blobs (not attributed yet).
    archives: Vec<Finding>,
}

/// Re-scans the blobs of `held` and gives back the findings at their cached places; `None`
/// when one is not there any more (the commit is then scanned afresh).
#[allow(clippy::too_many_arguments)]
fn replay_held(
    repo: &gix::Repository,
    rules: &Ruleset,
    copts: &ContentOptions,
    held: &[Held],
    commit: Option<&str>,
    misses: &Misses,
    scratch: &mut ContentTally,
    found: &mut Vec<Finding>,
) -> Option<()> {
    for h in held {
        let blob = ObjectId::from_hex(h.blob.as_bytes()).ok()?;
        let Some(obj) = misses.find(repo, blob, "blob", Some(&h.path)) else {
            continue;
        };
        if !misses.matches(blob, &obj.data, &h.path) {
            continue;
        }
        let mut all = Vec::new();
        content::scan(rules, copts, &h.path, commit, &obj.data, &mut all, scratch);
        for p in &h.places {
            found.push(all.iter().find(|f| p.is(f))?.clone());
        }
    }
    Some(())
}

/// Takes the commits the cache knows out of `commits` and reports their findings: each blob
/// that held one is read and scanned again, and the findings at the cached places are reported
/// (attributed to the commit); a message that held one is scanned again. A commit whose blob no
/// longer gives back a cached finding stays in `commits`, to be scanned afresh. What is reported
/// once (paths, archives' secrets) is given back per commit ([`Known`]), for the caller to
/// report at the oldest commit holding it.
fn replay(
    repo: &gix::Repository,
    rules: &Ruleset,
    opts: &HistoryOptions,
    cache: &HistoryCache,
    commits: &mut Vec<ObjectId>,
    shallow: &std::collections::HashSet<ObjectId>,
    misses: &Misses,
) -> Replayed {
    let copts = content_options(opts);
    let per_commit = rules.has_commit_allowlists();
    let mut out = Replayed::default();
    let mut scratch = ContentTally::default();
    let none = std::collections::HashSet::new();
    commits.retain(|id| {
        let Some(e) = cache.get(id).filter(|_| !shallow.contains(id)) else {
            return true;
        };
        let mut known = Known {
            id: *id,
            parents: e
                .parents
                .iter()
                .filter_map(|p| ObjectId::from_hex(p.as_bytes()).ok())
                .collect(),
            time: e.time,
            info: None,
            paths: e.paths.clone(),
            archives: Vec::new(),
        };
        if !e.message && e.found.is_empty() && e.paths.is_empty() && e.archives.is_empty() {
            out.commits += 1;
            out.list.push(known);
            return false;
        }
        let mut said = Vec::new();
        let mut message = |info: &CommitInfo, part: &str, text: &[u8]| {
            if e.message {
                let label = format!("commit {} {part}", info.id);
                let c = Some(info.id.as_str());
                content::scan(rules, &copts, &label, c, text, &mut said, &mut scratch);
            }
        };
        // A commit that cannot be read now is counted missing or unreadable (incomplete).
        let Some((mut info, _, _)) = commit_info(repo, *id, misses, &mut message) else {
            return false;
        };
        for f in &mut said {
            f.place = Some(Place::Commit);
        }
        for text in [&mut info.author, &mut info.email, &mut info.summary] {
            crate::meta::mask_known(text, &said);
        }
        let mut found: Vec<Finding> = said;
        let commit = per_commit.then_some(info.id.as_str());
        let (mut scratch2, m) = (ContentTally::default(), misses);
        if replay_held(
            repo,
            rules,
            &copts,
            &e.found,
            commit,
            m,
            &mut scratch2,
            &mut found,
        )
        .is_none()
            || replay_held(
                repo,
                rules,
                &copts,
                &e.archives,
                commit,
                m,
                &mut scratch2,
                &mut known.archives,
            )
            .is_none()
        {
            // Not what the cache says: this commit is scanned afresh.
            return true;
        }
        out.findings
            .extend(found.into_iter().map(|f| attributed(f, &info, &none)));
        known.info = Some(info);
        out.commits += 1;
        out.list.push(known);
        false
    });
    out
}

/// The path `path` (holding `blob` in `commit`) was renamed from, if any: a path a parent
/// holds the blob at that is gone in `commit`.
fn renamed_from_parent(
    repo: &gix::Repository,
    commit: ObjectId,
    parents: &[ObjectId],
    path: &str,
    blob: ObjectId,
) -> Option<String> {
    let scratch = Misses::default();
    parents.iter().find_map(|p| {
        let tree = tree_of(repo, *p, &scratch)?;
        let mut stack = vec![(String::new(), tree)];
        let mut depth = 0;
        while let Some((prefix, t)) = stack.pop() {
            depth += 1;
            if depth > 1_000_000 {
                return None;
            }
            for (name, is_tree, oid) in entries(repo, t, &scratch) {
                let name = path_text(&name);
                let full = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                if is_tree {
                    stack.push((full, oid));
                } else if oid == blob && full != path && blob_at(repo, commit, &full).is_none() {
                    return Some(full);
                }
            }
        }
        None
    })
}

/// A finding attributed to a commit: its id, author, date and summary.
fn attributed(
    mut f: Finding,
    info: &CommitInfo,
    unreachable: &std::collections::HashSet<String>,
) -> Finding {
    f.commit = Some(info.id.clone());
    f.author = Some(info.author.clone());
    f.email = Some(info.email.clone());
    f.date = Some(info.date.clone());
    f.message = Some(info.summary.clone());
    f.unreachable = unreachable.contains(&info.id);
    f.seal()
}

/// What a history scan keeps of each commit while its blobs are read: 24 bytes and two times,
/// not five strings (200,000 commits: 8 MB instead of 50).
#[derive(Debug, Clone, Copy)]
struct CommitRow {
    id: ObjectId,
    /// Author time, seconds since the epoch.
    time: i64,
    /// The later of author and committer time.
    newest: i64,
}

/// The texts of the commits findings name, read on demand (few commits have findings), and
/// kept as masked where the commit's own text held a finding.
#[derive(Default)]
struct Details {
    kept: HashMap<usize, CommitInfo>,
}

impl Details {
    /// The info of commit `ci`: read again from the object database the first time it is
    /// asked for. A commit that cannot be read again (it was read once) keeps its id and times.
    fn of(
        &mut self,
        repo: &gix::Repository,
        ci: usize,
        row: &CommitRow,
        misses: &Misses,
    ) -> &CommitInfo {
        self.kept.entry(ci).or_insert_with(|| {
            commit_info(repo, row.id, misses, &mut |_, _, _| {}).map_or_else(
                || CommitInfo {
                    id: row.id.to_string(),
                    author: String::new(),
                    email: String::new(),
                    date: String::new(),
                    summary: String::new(),
                    time: row.time,
                    newest: row.newest,
                },
                |(info, _, _)| info,
            )
        })
    }
}

/// The lines of blobs with findings, read on demand: whether a finding's lines were already in
/// the parent's version of its file, as `git diff` (Myers, what gitleaks's `git log -p` reads)
/// shows it: a line the diff adds is new even when the same text is elsewhere in the file.
#[derive(Default)]
struct BlobLines {
    blobs: HashMap<ObjectId, Option<std::sync::Arc<[u8]>>>,
    /// Bytes held in `blobs`.
    bytes: usize,
    /// Per (now, before): which lines of `now` the diff adds.
    added: Added,
    /// Bytes of blobs read since the handle was last opened ([`ATTRIBUTION_REOPEN`]).
    read: usize,
}

impl BlobLines {
    /// Bytes of blobs kept for the next diffs (then the cache starts over): a history with many
    /// findings in large files must not hold them all.
    const BUDGET: usize = 32 << 20;

    fn get(&mut self, repo: &gix::Repository, id: ObjectId) -> Option<std::sync::Arc<[u8]>> {
        if let Some(b) = self.blobs.get(&id) {
            return b.clone();
        }
        // Only bytes that hash to the id: a parent's blob read as another (a replaced loose
        // file, a damaged index) would hide the lines the child added; unread, every line of
        // the child counts as added.
        let data: Option<std::sync::Arc<[u8]>> = repo
            .find_object(id)
            .ok()
            .filter(|o| blob_hash_is(id, &o.data))
            .map(|o| o.data.as_slice().into());
        let len = data.as_ref().map_or(0, |d| d.len());
        self.read += len;
        if self.bytes + len > Self::BUDGET {
            self.blobs.clear();
            self.bytes = 0;
        }
        self.bytes += len;
        self.blobs.insert(id, data.clone());
        data
    }

    /// Judges the diffs of `pairs` (path, blob, the parent's version of it) ahead: their blobs
    /// are decoded through their packs' delta trees on every thread (each entry checked
    /// against the index's CRC-32, as the scan's own reads are) into a keyed hash per line, and
    /// the diffs of those are taken in parallel. Versions of one file come together, in groups
    /// of [`PRINT_GROUP`] blobs holding at most [`PRINT_BUDGET`] bytes of prints; a diff left
    /// out (a loose or unreadable blob, a group over the budget) is taken when asked for, from
    /// blobs read one by one.
    fn prepare(
        &mut self,
        repo: &gix::Repository,
        mut pairs: Vec<(&str, ObjectId, ObjectId)>,
        threads: usize,
    ) {
        pairs.sort_unstable();
        pairs.dedup();
        let (mut asked, mut judged) = (0usize, 0usize);
        let mut at = 0;
        while at < pairs.len() {
            let mut group_ids = std::collections::HashSet::new();
            let mut end = at;
            while end < pairs.len() && group_ids.len() < PRINT_GROUP {
                group_ids.extend([pairs[end].1, pairs[end].2]);
                end += 1;
            }
            let mut ids: Vec<ObjectId> = group_ids.into_iter().collect();
            ids.sort_unstable();
            let group = &pairs[at..end];
            at = end;
            asked += group.len();
            let places = crate::pack_trees::locations(repo, &ids);
            // Drawn per group: no file can be written to make two different lines agree.
            let key = std::hash::RandomState::new();
            let used = AtomicUsize::new(0);
            let slots: Vec<std::sync::OnceLock<Vec<u64>>> =
                (0..ids.len()).map(|_| std::sync::OnceLock::new()).collect();
            let print = |job: usize, bytes: &[u8]| {
                let print: Vec<u64> = bytes
                    .lines()
                    .map(|l| std::hash::BuildHasher::hash_one(&key, l))
                    .collect();
                let size = print.len() * 8;
                if used.fetch_add(size, Ordering::Relaxed) + size <= PRINT_BUDGET {
                    let _ = slots[job].set(print);
                }
            };
            crate::pack_blobs::decode(repo, &places, threads, &print);
            let of = |id: &ObjectId| ids.binary_search(id).ok().and_then(|k| slots[k].get());
            let next = AtomicUsize::new(0);
            let done: Mutex<Added> = Mutex::new(Added::new());
            std::thread::scope(|s| {
                for _ in 0..threads.max(1) {
                    s.spawn(|| loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&(_, now, before)) = group.get(k) else {
                            break;
                        };
                        if let (Some(old), Some(new)) = (of(&before), of(&now)) {
                            let added = added_lines(old, new);
                            done.lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .insert((now, before), added);
                        }
                    });
                }
            });
            let done = done.into_inner().unwrap_or_else(|e| e.into_inner());
            judged += done.len();
            self.added.extend(done);
        }
        tracing::debug!(asked, judged, "diffs of blobs with findings taken ahead");
    }

    /// Whether none of lines `first..=last` (1-based) of blob `now` is one the diff from blob
    /// `before` adds.
    fn already_in(
        &mut self,
        repo: &gix::Repository,
        now: ObjectId,
        before: ObjectId,
        first: usize,
        last: usize,
    ) -> bool {
        if !self.added.contains_key(&(now, before)) {
            let (Some(new), Some(old)) = (self.get(repo, now), self.get(repo, before)) else {
                return false;
            };
            let old: Vec<&[u8]> = old.lines().collect();
            let new: Vec<&[u8]> = new.lines().collect();
            self.added.insert((now, before), added_lines(&old, &new));
        }
        let added = &self.added[&(now, before)];
        let from = first.max(1) - 1;
        if from >= added.len() {
            return false;
        }
        let to = last.max(first).min(added.len());
        !added.get(from..to).unwrap_or(&[]).iter().any(|&a| a)
    }
}

/// Whether earlier versions of files reported a finding: this scan's results by pair, and the
/// findings of versions it did not read itself (the parent of a range's first commit, a cached
/// commit's blob), scanned once each.
struct EarlierFound<'a> {
    rules: &'a Ruleset,
    opts: &'a ContentOptions,
    /// Per (path, blob) this scan read: the index of `results` holding its findings.
    pairs: HashMap<(&'a str, ObjectId), usize>,
    results: &'a [Vec<Finding>],
    scanned: HashMap<(String, ObjectId), Vec<(String, String)>>,
}

impl EarlierFound<'_> {
    /// Whether `blob` at `path` reports `f`'s secret under `f`'s rule (a version this scan did
    /// not read is scanned at no commit: a commit allowlist of the parent is not applied). A
    /// version that cannot be read counts as not reporting it, so the finding is reported.
    fn reported(
        &mut self,
        repo: &gix::Repository,
        lines: &mut BlobLines,
        path: &str,
        blob: ObjectId,
        f: &Finding,
    ) -> bool {
        let same = |rule: &str, secret: &str| rule == f.rule && secret == f.secret.expose_secret();
        if let Some(&k) = self.pairs.get(&(path, blob)) {
            return self.results[k]
                .iter()
                .any(|g| same(&g.rule, g.secret.expose_secret()));
        }
        let (rules, opts) = (self.rules, self.opts);
        let found = self
            .scanned
            .entry((path.to_owned(), blob))
            .or_insert_with(|| {
                let Some(data) = lines.get(repo, blob) else {
                    return Vec::new();
                };
                let mut found = Vec::new();
                content::scan_any(
                    rules,
                    opts,
                    path,
                    None,
                    &data,
                    &mut found,
                    &mut ContentTally::default(),
                );
                found
                    .into_iter()
                    .map(|g| (g.rule, g.secret.expose_secret().clone()))
                    .collect()
            });
        found.iter().any(|(r, s)| same(r, s))
    }
}

/// Per (blob, its parent's version): which lines of the blob the diff adds.
type Added = HashMap<(ObjectId, ObjectId), Vec<bool>>;

/// Bytes of line prints [`BlobLines::prepare`] keeps at once (8 per line: a million lines in
/// 8 MiB).
const PRINT_BUDGET: usize = 64 << 20;

/// Blobs [`BlobLines::prepare`] decodes at once (uv's history: 1,373 blobs, 64 MiB of prints
/// for the first 858).
const PRINT_GROUP: usize = 512;

/// Which of the lines `new` the diff from `old` adds (Myers, as `git diff`).
fn added_lines<T: std::hash::Hash + Ord>(old: &[T], new: &[T]) -> Vec<bool> {
    // A bound on a pathological diff: past it, similar returns a coarser (still valid) diff,
    // which can only mark more lines added.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let ops =
        similar::capture_diff_slices_deadline(similar::Algorithm::Myers, old, new, Some(deadline));
    let mut added = vec![false; new.len()];
    for op in ops {
        if let similar::DiffOp::Insert {
            new_index, new_len, ..
        }
        | similar::DiffOp::Replace {
            new_index, new_len, ..
        } = op
        {
            added[new_index..new_index + new_len].fill(true);
        }
    }
    added
}

/// The blob at `path` in commit `commit`, if any.
fn blob_at(repo: &gix::Repository, commit: ObjectId, path: &str) -> Option<ObjectId> {
    let tree = repo.find_commit(commit).ok()?.tree().ok()?;
    let entry = tree.lookup_entry_by_path(path).ok()??;
    Some(entry.object_id())
}

/// `--since`: keeps the commits to scan, in their order. A commit is left out when both its
/// dates are before `since` and no parent of it is kept: one dated before a parent that is
/// scanned (backdated, or a run of such commits) is scanned, since what follows builds on what
/// it added (tester helper-117 M4: a backdated commit between two new ones hid its secret with
/// exit 0), and so is one a scanned merge brings in (reachable from one of its parents, not
/// from the others). A commit that cannot be read is kept (reading it again reports it).
/// Returns how many commits older than `since` are scanned for those reasons.
fn since_filter(repo: &gix::Repository, commits: &mut Vec<ObjectId>, since: i64) -> usize {
    let n = commits.len();
    let mut parents: Vec<Vec<ObjectId>> = Vec::with_capacity(n);
    let mut newest: Vec<i64> = Vec::with_capacity(n);
    for id in commits.iter() {
        let read = repo.find_object(*id).ok().and_then(|o| {
            let c = gix::objs::CommitRef::from_bytes(&o.data, repo.object_hash()).ok()?;
            let time = |s: Result<gix::actor::SignatureRef<'_>, _>| {
                s.ok()
                    .and_then(|x| x.time().ok())
                    .map_or(i64::MAX, |t| t.seconds)
            };
            let (a, c2) = (time(c.author()), time(c.committer()));
            Some((c.parents().collect::<Vec<_>>(), a.max(c2)))
        });
        let (p, t) = read.unwrap_or((Vec::new(), i64::MAX));
        parents.push(p);
        newest.push(t);
    }
    let rank = topo_order(commits, &parents, &newest);
    let index: HashMap<ObjectId, usize> =
        commits.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let mut by_rank: Vec<usize> = (0..n).collect();
    by_rank.sort_unstable_by_key(|&i| rank[i]);
    let mut keep = vec![false; n];
    let mut backdated = 0;
    for i in by_rank {
        let after_kept = parents[i]
            .iter()
            .any(|p| index.get(p).is_some_and(|&j| keep[j]));
        keep[i] = newest[i] >= since || after_kept;
        if newest[i] < since && after_kept {
            backdated += 1;
        }
    }
    // A scanned merge brings in what each parent holds that its other parents do not: a side
    // branch dated before `--since` and merged after it (tester helper-119 #1), whichever parent
    // it is (helper-120 #1: merge main into the old branch, then fast-forward main to the merge).
    // Those commits are scanned too; old history both sides share is not.
    let parent_index: Vec<Vec<usize>> = parents
        .iter()
        .map(|ps| ps.iter().filter_map(|p| index.get(p).copied()).collect())
        .collect();
    let reach = |from: usize, mark: &mut Vec<bool>| {
        let mut stack = vec![from];
        while let Some(x) = stack.pop() {
            if !std::mem::replace(&mut mark[x], true) {
                stack.extend(parent_index[x].iter().copied());
            }
        }
    };
    for m in 0..n {
        if !keep[m] || parents[m].len() < 2 {
            continue;
        }
        let ps = &parent_index[m];
        for (i, &q) in ps.iter().enumerate() {
            if keep[q] {
                continue;
            }
            let mut others = vec![false; n];
            for (j, &o) in ps.iter().enumerate() {
                if j != i {
                    reach(o, &mut others);
                }
            }
            let mut stack = vec![q];
            while let Some(x) = stack.pop() {
                if keep[x] || others[x] {
                    continue;
                }
                keep[x] = true;
                backdated += 1;
                stack.extend(parent_index[x].iter().copied());
            }
        }
    }
    let mut k = keep.into_iter();
    commits.retain(|_| k.next().unwrap_or(true));
    backdated
}

/// A rank per commit: parents before children (Kahn's algorithm), older author dates first
/// among commits whose order ancestry does not fix, then the smaller id (so the order does not
/// depend on the order commits were listed in: with or without the cache, the same).
fn topo_order(ids: &[ObjectId], parents: &[Vec<ObjectId>], times: &[i64]) -> Vec<usize> {
    let index: HashMap<&ObjectId, usize> = ids.iter().enumerate().map(|(i, s)| (s, i)).collect();
    let n = ids.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut pending = vec![0usize; n];
    for (c, ps) in parents.iter().enumerate() {
        for p in ps {
            if let Some(&pi) = index.get(p) {
                children[pi].push(c);
                pending[c] += 1;
            }
        }
    }
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<(i64, &ObjectId, usize)>> = (0
        ..n)
        .filter(|&i| pending[i] == 0)
        .map(|i| std::cmp::Reverse((times[i], &ids[i], i)))
        .collect();
    let mut rank = vec![usize::MAX; n];
    let mut next = 0;
    while let Some(std::cmp::Reverse((_, _, i))) = ready.pop() {
        rank[i] = next;
        next += 1;
        for &c in &children[i] {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.push(std::cmp::Reverse((times[c], &ids[c], c)));
            }
        }
    }
    rank
}

/// What one commit introduced: its info, its parents, its new (path, blob) pairs, what its
/// message holds (findings located at `commit <id> message`), and whether every object it took
/// was read whole (else it is not cached).
type Introduced = (
    CommitRow,
    Option<Box<CommitInfo>>,
    Vec<ObjectId>,
    Vec<Pair>,
    Vec<Finding>,
    bool,
);

/// A (path, blob) pair a commit introduced, and the blob a parent had at that path, if any.
type Pair = (String, ObjectId, Option<ObjectId>);

/// `--threads`, or one per core.
fn worker_threads(opts: &HistoryOptions) -> usize {
    match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Compares every commit's tree with its parents' trees, in parallel (one repository handle and
/// one object cache per thread). `None` for commits that are unreadable or older than `since`.
#[allow(clippy::too_many_arguments)]
fn compare_trees(
    repo: &gix::Repository,
    rules: &Ruleset,
    commits: &[ObjectId],
    opts: &HistoryOptions,
    preloaded: &crate::pack_trees::Trees,
    shallow: &std::collections::HashSet<ObjectId>,
    misses: &Misses,
    tally: &mut ContentTally,
    progress: &(dyn Fn(Progress) + Sync),
) -> Vec<Option<Introduced>> {
    let threads = worker_threads(opts);
    let copts = content_options(opts);
    let tallies = Mutex::new(ContentTally::default());
    let git_dir = repo.git_dir().to_owned();
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Introduced>>> = Mutex::new(vec![None; commits.len()]);
    // The commits are compared in epochs of EPOCH, each through an object database of its own
    // that every worker shares: the pages of the packs and of their indexes an epoch mapped are
    // handed back with it, and are mapped once, not once per worker. Resident memory then does
    // not grow with the history or with the number of cores (200,000 commits mapped a 1.1 GB
    // pack whole, RssFile 930 MB; one database per worker mapped its 38 MB index once each).
    const EPOCH: usize = 4096;
    let mut epoch_start = 0;
    while epoch_start < commits.len() {
        let epoch_end = (epoch_start + EPOCH).min(commits.len());
        let sync = fresh_store(&git_dir, repo);
        next.store(epoch_start, Ordering::Relaxed);
        std::thread::scope(|s| {
            for _ in 0..threads.max(1) {
                std::thread::Builder::new()
                    .stack_size(WALK_STACK)
                    .spawn_scoped(s, || {
                        let mut repo = sync.to_thread_local();
                        delta_cache(&mut repo, share(DELTA_BUDGET, threads));
                        let mut cache = TreeCache::new(preloaded, share(TREE_BUDGET, threads));
                        let mut local = ContentTally::default();
                        const RUN: usize = 64;
                        loop {
                            let start = next.fetch_add(RUN, Ordering::Relaxed);
                            if start >= epoch_end {
                                break;
                            }
                            let end = (start + RUN).min(epoch_end);
                            progress(Progress::Commits((end - start) as u64));
                            for (i, id) in commits.iter().enumerate().take(end).skip(start) {
                                let (missed, gapped) = (missed_here(), gaps(&local));
                                // The message is history too (a token pasted into a commit message
                                // is pushed with it): scanned whole, located at `commit <id> message`.
                                let mut said = Vec::new();
                                let mut message = |info: &CommitInfo, part: &str, text: &[u8]| {
                                    let label = format!("commit {} {part}", info.id);
                                    content::scan(
                                        rules,
                                        &copts,
                                        &label,
                                        Some(&info.id),
                                        text,
                                        &mut said,
                                        &mut local,
                                    );
                                };
                                let Some((mut info, tree, parents)) =
                                    commit_info(&repo, *id, misses, &mut message)
                                else {
                                    continue;
                                };
                                for text in [&mut info.author, &mut info.email, &mut info.summary] {
                                    crate::meta::mask_known(text, &said);
                                }
                                // A shallow clone's boundary commits count as roots (the clone is then
                                // reported incomplete); any other parent that cannot be read is a miss.
                                let parent_trees: Vec<ObjectId> = if shallow.contains(id) {
                                    Vec::new()
                                } else {
                                    parents
                                        .iter()
                                        .filter_map(|p| tree_of(&repo, *p, misses))
                                        .collect()
                                };
                                let mut found = Vec::new();
                                let mut links = Vec::new();
                                introduced(
                                    &repo,
                                    &mut cache,
                                    tree,
                                    &parent_trees,
                                    &mut Vec::new(),
                                    0,
                                    misses,
                                    &mut found,
                                    &mut links,
                                );
                                let mut whole = missed_here() == missed
                                    && gaps(&local) == gapped
                                    && !shallow.contains(id);
                                for f in &mut said {
                                    f.place = Some(Place::Commit);
                                }
                                for link in &links {
                                    let (_, mut named) = crate::meta::scan_name(
                                        rules,
                                        &copts,
                                        link,
                                        Place::Path,
                                        |n| n.to_owned(),
                                        &mut local,
                                    );
                                    // Not kept in the cache: it would hold the name in clear.
                                    whole &= named.is_empty();
                                    for f in &mut named {
                                        f.commit = Some(info.id.clone());
                                    }
                                    said.extend(named);
                                }
                                // Kept for every commit until the blobs are read: no spare capacity.
                                found.shrink_to_fit();
                                let mut parents = parents;
                                parents.shrink_to_fit();
                                let row = CommitRow {
                                    id: *id,
                                    time: info.time,
                                    newest: info.newest,
                                };
                                // A commit's texts are kept only where a finding in them masked
                                // them; the rest are read again if a finding names the commit.
                                let kept = (!said.is_empty()).then(|| Box::new(info));
                                slots.lock().unwrap_or_else(|e| e.into_inner())[i] =
                                    Some((row, kept, parents, found, said, whole));
                            }
                        }
                        tallies
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .add(&local);
                    })
                    .expect("a tree-walking thread starts");
            }
        });
        epoch_start = epoch_end;
    }
    tally.add(&tallies.into_inner().unwrap_or_else(|e| e.into_inner()));
    slots.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// The content options of blobs and messages: `--max-file-size` as the size limit.
fn content_options(opts: &HistoryOptions) -> ContentOptions {
    ContentOptions {
        max_file_size: if opts.max_blob_size == 0 {
            u64::MAX
        } else {
            opts.max_blob_size
        },
        ..opts.content
    }
}

/// What a history scan reports as it goes (a progress bar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// This many more commits were walked and compared with their parents.
    Commits(u64),
    /// One more blob was read, of this many bytes.
    Blob(u64),
}

/// A blob to scan: its path, its id, and the commit to judge it at (with commit allowlists).
type Job<'a> = (&'a str, ObjectId, Option<&'a str>);

/// Scans each (path, blob) pair once, in parallel; returns findings per pair, and per pair
/// whether it could not be read whole (missing, unreadable, a content gap).
fn scan_blobs(
    repo: &gix::Repository,
    rules: &Ruleset,
    pairs: &[Job<'_>],
    opts: &HistoryOptions,
    stats: &mut GitStats,
    misses: &Misses,
    progress: &(dyn Fn(Progress) + Sync),
) -> (Vec<Vec<Finding>>, Vec<bool>) {
    let threads = worker_threads(opts);
    let dirty: Vec<std::sync::atomic::AtomicBool> = (0..pairs.len())
        .map(|_| std::sync::atomic::AtomicBool::new(false))
        .collect();
    let ids: Vec<ObjectId> = pairs.iter().map(|p| p.1).collect();
    let loc = crate::pack_trees::locations(repo, &ids);
    drop(ids);
    // A packed blob decoded through its delta tree is checked against the pack index's CRC-32
    // of each entry it is built from (`pack_blobs`); one read below is checked by the zlib
    // streams gix inflates; a loose object is a file of its own that can be replaced by another
    // valid one, so its bytes are hashed against its id.
    let packed: Vec<bool> = loc.iter().map(|l| l.0 != u32::MAX).collect();
    let git_dir = repo.git_dir().to_owned();
    let results: Mutex<Vec<Vec<Finding>>> = Mutex::new(vec![Vec::new(); pairs.len()]);
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let skipped = AtomicUsize::new(0);
    let tally = Mutex::new(ContentTally::default());
    let max = if opts.max_blob_size == 0 {
        u64::MAX
    } else {
        opts.max_blob_size
    };
    let copts = ContentOptions {
        max_file_size: max,
        ..opts.content
    };
    let common_dir = repo.common_dir().to_owned();
    // Scans job `i`'s bytes (read whole and checked).
    let scan = |i: usize, data: &[u8]| {
        let &(path, _, commit) = &pairs[i];
        let missed = missed_here();
        progress(Progress::Blob(data.len() as u64));
        // A blob over the size limit is scanned in chunks; a binary one by its printable runs.
        let mut found = Vec::new();
        let mut local = ContentTally::default();
        content::scan_any(rules, &copts, path, commit, data, &mut found, &mut local);
        misses.lfs(
            &common_dir,
            data,
            rules,
            &copts,
            path,
            commit,
            &mut found,
            &mut local,
        );
        bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        if local.has_gaps() || missed_here() != missed {
            dirty[i].store(true, Ordering::Relaxed);
        }
        if local != ContentTally::default() {
            tally.lock().unwrap_or_else(|e| e.into_inner()).add(&local);
        }
        if !found.is_empty() {
            results.lock().unwrap_or_else(|e| e.into_inner())[i] = found;
        }
    };
    // Packed blobs through their packs' delta trees; what that could not decode, and loose
    // objects, one by one below.
    let decoded = crate::pack_blobs::decode(repo, &loc, threads, &scan);
    for (i, read) in decoded.iter().enumerate() {
        if *read == crate::pack_blobs::Read::Corrupt {
            dirty[i].store(true, Ordering::Relaxed);
            let &(path, oid, _) = &pairs[i];
            misses.corrupt(
                oid,
                "blob (its pack entry, or a delta base it is built on, fails the pack index's checksum)",
                Some(path),
            );
        }
    }
    // The rest in pack order, cut into chunks by pack span.
    let mut order: Vec<usize> = (0..pairs.len())
        .filter(|&i| decoded[i] == crate::pack_blobs::Read::Left)
        .collect();
    order.sort_by_key(|&i| loc[i]);
    let mut chunks: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    for k in 1..=order.len() {
        let cut = k == order.len() || {
            let (a, b) = (loc[order[start]], loc[order[k]]);
            a.0 != b.0 || b.1 - a.1 > CHUNK_SPAN || k - start >= CHUNK_BLOBS
        };
        if cut {
            chunks.push(start..k);
            start = k;
        }
    }
    drop(loc);
    for chunk in chunks {
        let sync = fresh_store(&git_dir, repo);
        let next = AtomicUsize::new(chunk.start);
        let order = &order;
        std::thread::scope(|s| {
            for _ in 0..threads.max(1) {
                s.spawn(|| {
                    let mut repo = sync.to_thread_local();
                    delta_cache(&mut repo, share(DELTA_BUDGET, threads));
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= chunk.end {
                            break;
                        }
                        let i = order[k];
                        let &(path, oid, _) = &pairs[i];
                        let Some(obj) = misses.find(&repo, oid, "blob", Some(path)) else {
                            dirty[i].store(true, Ordering::Relaxed);
                            continue;
                        };
                        if !packed[i] && !misses.matches(oid, &obj.data, path) {
                            dirty[i].store(true, Ordering::Relaxed);
                            continue;
                        }
                        scan(i, &obj.data);
                    }
                });
            }
        });
    }
    stats.bytes = bytes.load(Ordering::Relaxed);
    stats.skipped = skipped.load(Ordering::Relaxed);
    stats
        .content
        .add(&tally.into_inner().unwrap_or_else(|e| e.into_inner()));
    (
        results.into_inner().unwrap_or_else(|e| e.into_inner()),
        dirty.into_iter().map(|d| d.into_inner()).collect(),
    )
}

/// Scans what `git commit` would record: index entries whose blob differs from HEAD's at the same
/// path, each new blob scanned whole (a secret completed by one added line, such as the last line
/// of a private key, is found). A finding is kept unless HEAD's version of the file already held
/// that very secret under the same rule, so a secret already committed (and baselined or being
/// purged) does not block unrelated commits, while any new one does.
pub fn scan_staged(
    path: &Path,
    rules: &Ruleset,
    max_blob_size: u64,
) -> Result<(Vec<Finding>, GitStats), GitError> {
    let opts = ContentOptions {
        max_file_size: max_blob_size,
        ..ContentOptions::default()
    };
    scan_staged_with(path, rules, &opts)
}

/// [`scan_staged`] with decoding and archive options; archives found staged are reported
/// whole (their members' lines are not the blob's).
pub fn scan_staged_with(
    path: &Path,
    rules: &Ruleset,
    opts: &ContentOptions,
) -> Result<(Vec<Finding>, GitStats), GitError> {
    scan_staged_watching(path, rules, opts, &[])
}

/// [`scan_staged_with`], reporting in [`GitStats::touched`] which of the `watch` paths
/// (repository-relative) the index changes.
pub fn scan_staged_watching(
    path: &Path,
    rules: &Ruleset,
    opts: &ContentOptions,
    watch: &[String],
) -> Result<(Vec<Finding>, GitStats), GitError> {
    let max_blob_size = opts.max_file_size;
    let repo = open(path)?;
    let index = repo.open_index().map_err(|e| GitError::Open {
        path: path.to_owned(),
        message: format!("cannot read the index: {e}"),
    })?;
    let misses = Misses {
        rules: Some(rules),
        ..Misses::default()
    };
    let mut head: HashMap<Vec<u8>, ObjectId> = HashMap::new();
    let mut head_links: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
    let mut bases = Vec::new();
    if repo.head().is_ok_and(|h| h.is_unborn()) {
        // The first commit of a repository: nothing to build on.
        bases.push(NO_BASE.to_owned());
    }
    if let Ok(commit) = repo.head_commit() {
        bases.push(commit.id.to_string());
        if let Ok(tree) = commit.tree_id() {
            let mut stack = vec![(Vec::new(), tree.detach())];
            while let Some((prefix, t)) = stack.pop() {
                for (name, is_tree, oid) in entries(&repo, t, &misses) {
                    let mut p = prefix.clone();
                    if !p.is_empty() {
                        p.push(b'/');
                    }
                    p.extend_from_slice(&name);
                    if is_tree {
                        stack.push((p, oid));
                    } else {
                        head.insert(p, oid);
                    }
                }
                for name in gitlinks(&repo, t, &misses) {
                    let mut p = prefix.clone();
                    if !p.is_empty() {
                        p.push(b'/');
                    }
                    p.extend_from_slice(&name);
                    head_links.insert(p);
                }
            }
        }
    }
    let mut stats = GitStats {
        bases,
        ..GitStats::default()
    };
    let mut out = Vec::new();
    for entry in index.entries() {
        let gitlink = entry
            .mode
            .to_tree_entry_mode()
            .is_some_and(|m| m.is_commit());
        if entry.stage_raw() == 0 && gitlink {
            // A submodule's path is a name git records: a new one is scanned as text.
            let p = entry.path(&index);
            if !head_links.contains(p.as_bytes()) {
                let (_, found) = crate::meta::scan_name(
                    rules,
                    opts,
                    &path_text(p),
                    Place::Path,
                    |n| n.to_owned(),
                    &mut stats.content,
                );
                out.extend(found);
            }
            continue;
        }
        if entry.stage_raw() != 0
            || !entry
                .mode
                .to_tree_entry_mode()
                .is_some_and(|m| m.is_blob_or_symlink())
        {
            continue;
        }
        let p = entry.path(&index);
        let old = head.get(p.as_bytes());
        if old == Some(&entry.id) {
            continue;
        }
        let path = path_text(p);
        if watch.contains(&path) && !stats.touched.contains(&path) {
            stats.touched.push(path.clone());
        }
        if old.is_none() {
            // A new path is text too.
            let (_, found) = crate::meta::scan_name(
                rules,
                opts,
                &path,
                Place::Path,
                |n| n.to_owned(),
                &mut stats.content,
            );
            out.extend(found);
        }
        let Some(obj) = misses.find(&repo, entry.id, "staged blob", Some(&path)) else {
            continue;
        };
        if !misses.matches(entry.id, &obj.data, &path) {
            continue;
        }
        // Over the size limit: scanned in chunks; binary: by its printable runs.
        let opts = &ContentOptions {
            max_file_size: if max_blob_size == 0 {
                u64::MAX
            } else {
                max_blob_size
            },
            ..*opts
        };
        let mut found = Vec::new();
        let read = content::scan_any(
            rules,
            opts,
            &path,
            None,
            &obj.data,
            &mut found,
            &mut stats.content,
        );
        misses.lfs(
            repo.common_dir(),
            &obj.data,
            rules,
            opts,
            &path,
            None,
            &mut found,
            &mut stats.content,
        );
        stats.blobs += 1;
        stats.bytes += obj.data.len() as u64;
        if found.is_empty() {
            continue;
        }
        if read == content::Read::Archive {
            out.extend(found);
            continue;
        }
        match old.and_then(|o| repo.find_object(*o).ok()) {
            Some(o) => {
                // HEAD's version read the same way (decoded too), so a secret it already held
                // does not block the commit; binary or unreadable before: everything is new.
                let mut before = Vec::new();
                let mut scratch = ContentTally::default();
                content::scan_any(rules, opts, &path, None, &o.data, &mut before, &mut scratch);
                // HEAD's LFS content too, when it is here (its absence is not this commit's gap).
                Misses::default().lfs(
                    repo.common_dir(),
                    &o.data,
                    rules,
                    opts,
                    &path,
                    None,
                    &mut before,
                    &mut scratch,
                );
                out.extend(found.into_iter().filter(|f| {
                    !before
                        .iter()
                        .any(|b| b.rule == f.rule && b.secret.ct_eq(&f.secret))
                }));
            }
            None => out.extend(found),
        }
    }
    misses.into_stats(&mut stats);
    Ok((out, stats))
}

#[cfg(test)]
mod tests {
    /// Paths as shown are one-to-one: a `!` (the archive-member separator), a backslash and a
    /// byte that is not UTF-8 are escaped, and a name spelling an escape stays apart from it.
    #[test]
    fn shown_paths_never_meet() {
        let names: [&[u8]; 7] = [
            b"app.zip!conf.txt",
            b"app.zip\\x21conf.txt",
            b"app.zip\\\\x21conf.txt",
            b"a\\b",
            b"a\xfeb",
            b"a\\xfeb",
            b"plain/name.txt",
        ];
        let shown: Vec<String> = names.iter().map(|n| super::path_text(n)).collect();
        assert_eq!(shown[0], "app.zip\\x21conf.txt");
        assert_eq!(shown[6], "plain/name.txt");
        let distinct: std::collections::HashSet<&String> = shown.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{shown:?}");
        assert!(shown.iter().all(|s| !s.contains('!')));
    }

    /// The fast blob hash is Git's: it accepts a blob's own bytes (empty, short, over a SHA-1
    /// block, with a NUL) and nothing else.
    #[test]
    fn the_blob_hash_check_is_git_s() {
        for data in [
            &b""[..],
            b"a",
            b"hello\n",
            &[0u8; 200],
            &b"x".repeat(100_000),
        ] {
            let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::object::Kind::Blob, data)
                .expect("hashes");
            assert!(super::blob_hash_is(id, data));
            let mut other = data.to_vec();
            other.push(b'!');
            assert!(!super::blob_hash_is(id, &other));
        }
    }

    #[test]
    fn named_missing_objects_do_not_depend_on_the_order_they_were_met() {
        let texts: Vec<String> = (0..8).map(|i| format!("blob {i:040x} (f{i})")).collect();
        let mut seen = Vec::new();
        for order in [[7, 3, 0, 5, 1, 6, 2, 4], [0, 1, 2, 3, 4, 5, 6, 7]] {
            let m = super::Misses::default();
            for i in order {
                m.name_text(texts[i].clone());
                m.name_text(texts[i].clone()); // met twice (two paths, two threads): named once
            }
            let mut stats = super::GitStats::default();
            m.into_stats(&mut stats);
            seen.push(stats.named);
        }
        assert_eq!(seen[0], texts[..super::Misses::NAMED].to_vec());
        assert_eq!(seen[0], seen[1]);
    }

    #[test]
    fn a_url_s_user_part_never_reaches_a_warning() {
        let t = ["ghp_", "0123456789abcdefghij", "klmnopqrstuvwxyz"].concat();
        for url in [
            format!("http://{t}@127.0.0.1:9/x.git"),
            format!("ssh://{t}@host/x"),
            format!("https://u:{t}@github.com/o/r"),
        ] {
            let line = format!("fatal: unable to access '{url}/': refused; again {url}");
            let shown = hide_userinfo(&line);
            assert!(!shown.contains(&t), "{shown}");
            assert!(shown.contains("[REDACTED]@"), "{shown}");
        }
        assert_eq!(
            hide_userinfo("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
        // bb-git-s8 #8: scp-like user parts, and tokens in a URL's path or fragment.
        let ex =
            crate::examples::expand("ghp_{alnum:30}{ghcrc}", &mut crate::examples::Gen::new(88))
                .unwrap();
        let t = ex.text[ex.secret].to_owned();
        for url in [
            format!("{t}@127.0.0.1:x.git"),
            format!("http://127.0.0.1:9/{t}/x.git"),
            format!("http://127.0.0.1:9/x.git#{t}"),
        ] {
            let line = format!("`git ls-remote {url}`: ssh: connect to host 127.0.0.1; '{url}'");
            let shown = hide_secrets(&line);
            assert!(!shown.contains(&t[4..20]), "{shown}");
        }
        assert_eq!(
            hide_secrets("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
        assert_eq!(
            hide_userinfo("https://github.com/o/r"),
            "https://github.com/o/r"
        );
    }
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn push_ranges_come_from_pre_commit_then_stdin_then_head() {
        let env = |k: &str| match k {
            "PRE_COMMIT_FROM_REF" => Some(A.to_owned()),
            "PRE_COMMIT_TO_REF" => Some(B.to_owned()),
            _ => None,
        };
        let r = PushRange::from_hook(&env, None, None, None).unwrap();
        assert_eq!(
            (r.tips, r.hidden, r.ask_remote),
            (vec![B.to_owned()], vec![A.to_owned()], false)
        );
        let input = format!(
            "refs/heads/main {B} refs/heads/main {A}\nrefs/heads/new {A} refs/heads/new {ZERO}\nrefs/heads/gone {ZERO} refs/heads/gone {B}\nnoise\n"
        );
        let mut stdin = input.as_bytes();
        let r = PushRange::from_hook(&|_| None, Some(&mut stdin), Some("origin"), Some("/r.git"))
            .unwrap();
        assert_eq!(r.tips, vec![B.to_owned(), A.to_owned()]);
        assert_eq!(r.hidden, vec![A.to_owned()]);
        // A new ref: the remote is asked, never guessed.
        assert!(r.ask_remote && !r.upstream);
        assert_eq!(r.remote.as_deref(), Some("origin"));
        let mut stdin = format!("refs/heads/main {B} refs/heads/main {A}\n");
        let r = PushRange::from_hook(&|_| None, Some(&mut stdin.as_bytes()), None, None).unwrap();
        assert!(!r.ask_remote, "an update names the remote's commit exactly");
        stdin.clear();
        let r = PushRange::from_hook(&|_| None, None, None, None).unwrap();
        assert_eq!(r.tips, vec!["HEAD".to_owned()]);
        assert!(r.hidden.is_empty() && r.ask_remote && r.upstream);
        // A remote named but no input (a hook manager that kept git's stdin): every local ref.
        let r = PushRange::from_hook(&|_| None, Some(&mut "".as_bytes()), Some("origin"), None)
            .unwrap();
        assert!(r.tips.is_empty() && r.local_refs && r.ask_remote && !r.upstream);
        // Deletions only: nothing is sent; HEAD against the remote, as before.
        let del = format!("refs/heads/gone {ZERO} refs/heads/gone {B}\n");
        let r = PushRange::from_hook(&|_| None, Some(&mut del.as_bytes()), Some("origin"), None)
            .unwrap();
        assert_eq!(r.tips, vec!["HEAD".to_owned()]);
        assert!(!r.local_refs);
    }

    #[test]
    fn pre_commit_hook_refs_are_checked_against_the_remote() {
        // In pre-commit's pre-push hook, FROM_REF may come from stale tracking refs: it hides
        // only what the remote advertises.
        let env = |k: &str| match k {
            "PRE_COMMIT_FROM_REF" => Some(A.to_owned()),
            "PRE_COMMIT_TO_REF" => Some(B.to_owned()),
            "PRE_COMMIT_REMOTE_NAME" => Some("origin".to_owned()),
            "PRE_COMMIT_REMOTE_URL" => Some("/r.git".to_owned()),
            "PRE_COMMIT_LOCAL_BRANCH" => Some("refs/heads/f".to_owned()),
            "PRE_COMMIT_REMOTE_BRANCH" => Some("refs/heads/f".to_owned()),
            _ => None,
        };
        let r = PushRange::from_hook(&env, None, None, None).unwrap();
        assert_eq!(r.tips, vec![B.to_owned()]);
        assert!(r.hidden.is_empty() && r.ask_remote);
        assert_eq!(r.claimed, vec![A.to_owned()]);
        assert_eq!(r.refs, vec!["refs/heads/f".to_owned()]);
        // Its "all files" case (the pushed ref reaches a root): no range, the local branch.
        let env = |k: &str| match k {
            "PRE_COMMIT_REMOTE_NAME" => Some("origin".to_owned()),
            "PRE_COMMIT_LOCAL_BRANCH" => Some("refs/heads/o".to_owned()),
            _ => None,
        };
        let r = PushRange::from_hook(&env, None, None, None).unwrap();
        assert_eq!(r.tips, vec!["refs/heads/o".to_owned()]);
        assert!(r.ask_remote && !r.upstream);
    }

    #[test]
    fn since_reads_dates_and_times() {
        let flag = || Origin::Flag("--since".into());
        assert_eq!(parse_since("2026-01-02", flag), Ok(1_767_312_000));
        assert_eq!(parse_since("2026-01-02T12:00:00Z", flag), Ok(1_767_355_200));
        assert_eq!(
            parse_since("yesterday", flag).unwrap_err().to_string(),
            "--since: `yesterday` is not a date (2026-01-31 or RFC 3339)"
        );
        assert_eq!(
            parse_since("2099-01-01", || Origin::Flag("--since".into()))
                .unwrap_err()
                .to_string(),
            "--since: `2099-01-01` is in the future: nothing would be scanned"
        );
    }
}
