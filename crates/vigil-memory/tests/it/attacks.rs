//! The attack suite through the library, for both resolutions (`openat2` and the portable
//! `O_NOFOLLOW` walk): every escape is refused with its typed error and nothing outside the root
//! changes; caps, twins and conflicts are typed errors that write nothing.

use std::os::unix::fs::symlink;
use std::path::PathBuf;
use vigil_memory::fsops::Resolve;
use vigil_memory::{Actor, Limits, MemoryError, Store};

const WHO: Actor<'static> = Actor {
    principal: "mallory",
    tool: "memory_write",
};

/// A store in `<tmp>/root`, a sibling `<tmp>/root-evil`, and an outside folder with a canary.
struct World {
    _tmp: tempfile::TempDir,
    base: PathBuf,
    store: Store,
}

impl World {
    fn new(mode: Resolve) -> World {
        Self::with(
            mode,
            Limits {
                fsync: false,
                ..Limits::default()
            },
        )
    }

    fn with(mode: Resolve, limits: Limits) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().to_owned();
        for d in ["outside", "root-evil"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
            std::fs::write(base.join(d).join("secret"), b"canary").unwrap();
        }
        let store = Store::open_with(&base.join("root"), limits, mode).unwrap();
        World {
            _tmp: tmp,
            base,
            store,
        }
    }

    fn files(&self) -> PathBuf {
        self.base.join("root/files")
    }

    /// Nothing outside the root changed: the canaries are intact and alone.
    fn assert_outside_untouched(&self) {
        for d in ["outside", "root-evil"] {
            let dir = self.base.join(d);
            let names: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert_eq!(names, ["secret"], "{d} gained files");
            assert_eq!(std::fs::read(dir.join("secret")).unwrap(), b"canary");
        }
        let top: Vec<_> = std::fs::read_dir(&self.base)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(top.len(), 3, "new entries beside the root: {top:?}");
    }

    fn log_lines(&self) -> usize {
        std::fs::read_to_string(self.base.join("root/state/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .count()
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, MemoryError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

/// Every tool's operation on `path`, with the code each gave.
fn all_ops(s: &Store, path: &str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("read", code(s.read(path, None))),
        ("write", code(s.write(WHO, path, "pwned", None))),
        ("append", code(s.append(WHO, path, "pwned"))),
        ("delete", code(s.delete(WHO, path))),
        ("history", code(s.history(path, None))),
        ("list", code(s.list(path, None))),
        ("search", code(s.search("canary", path, None))),
    ]
}

fn assert_all(s: &Store, path: &str, want: &[&str]) {
    for (op, c) in all_ops(s, path) {
        assert!(
            want.contains(&c),
            "{op} {path:?} gave {c}, want one of {want:?}"
        );
    }
}

fn both(f: impl Fn(Resolve)) {
    f(Resolve::Openat2);
    f(Resolve::Walk);
}

#[test]
fn openat2_is_what_linux_uses() {
    let w = World::new(Resolve::Openat2);
    w.store.read("missing", None).unwrap_err();
    assert_eq!(w.store.resolve_mode(), Resolve::Openat2);
}

#[test]
fn dot_dot_in_every_position_and_encoding_is_outside_root() {
    both(|mode| {
        let w = World::new(mode);
        w.store.write(WHO, "a/b/note.md", "x", None).unwrap();
        let lines = w.log_lines();
        for p in [
            "..",
            "../outside/secret",
            "../../outside/secret",
            "a/../../outside/secret",
            "a/b/../../../outside/secret",
            "a/..",
            "a/b/..",
            "./a/b/note.md",
            "a/./b",
            "..\\outside\\secret",
            "a\\..\\..\\outside",
            "%2e%2e/outside/secret",
            "%2E%2E%2Foutside%2Fsecret",
            "..%2foutside%2fsecret",
            "..%5coutside",
            "%252e%252e/outside",
            "%c0%ae%c0%ae/outside",
            "\u{FF0E}\u{FF0E}/outside/secret",
            "a/\u{FF0E}\u{FF0E}/\u{FF0E}\u{FF0E}/outside",
            "\u{2024}\u{2024}/outside",
            "..\u{FF0F}outside",
            "..\u{2215}outside",
        ] {
            assert_all(&w.store, p, &["outside_root", "invalid_name"]);
        }
        // The plain `..` forms are refused as outside_root, not just as bad names.
        assert_eq!(
            code(w.store.read("../outside/secret", None)),
            "outside_root"
        );
        assert_eq!(
            code(w.store.write(WHO, "a/../../x", "x", None)),
            "outside_root"
        );
        assert_eq!(w.log_lines(), lines, "a refused write reached the log");
        w.assert_outside_untouched();
    });
}

#[test]
fn absolute_paths_and_the_sibling_prefix_are_outside_root() {
    both(|mode| {
        let w = World::new(mode);
        let evil = w.base.join("root-evil/secret");
        let inside = w.files().join("x.md");
        for p in [
            "/etc/passwd".to_owned(),
            evil.display().to_string(),
            format!("{}/secret", w.base.join("root-evil").display()),
            inside.display().to_string(),
            "../root-evil/secret".to_owned(),
            "../../root-evil/secret".to_owned(),
            "//etc/passwd".to_owned(),
            "C:\\Windows\\win.ini".to_owned(),
            "~/.ssh/id_ed25519".to_owned(),
        ] {
            assert_all(&w.store, &p, &["outside_root"]);
        }
        w.assert_outside_untouched();
    });
}

#[test]
fn symlinks_to_outside_are_refused_at_every_depth() {
    both(|mode| {
        let w = World::new(mode);
        let outside = w.base.join("outside");
        for depth in 0..4 {
            let prefix: String = (0..depth).map(|i| format!("d{i}/")).collect();
            std::fs::create_dir_all(w.files().join(&prefix)).unwrap();
            symlink(&outside, w.files().join(format!("{prefix}dirlink"))).unwrap();
            symlink(
                outside.join("secret"),
                w.files().join(format!("{prefix}filelink")),
            )
            .unwrap();
            // A link that stays inside is refused too: no link is ever followed.
            symlink(".", w.files().join(format!("{prefix}selflink"))).unwrap();
            for p in [
                format!("{prefix}dirlink/secret"),
                format!("{prefix}dirlink/new.md"),
                format!("{prefix}dirlink/sub/new.md"),
                format!("{prefix}selflink/x.md"),
            ] {
                for (op, c) in all_ops(&w.store, &p) {
                    // history reads only the log (which has nothing under a link), never files.
                    let ok = c == "symlink" || (op == "history" && c == "ok");
                    assert!(ok, "{op} {p:?} gave {c}");
                }
            }
            for p in [
                format!("{prefix}filelink"),
                format!("{prefix}dirlink"),
                format!("{prefix}selflink"),
            ] {
                for (op, c) in all_ops(&w.store, &p) {
                    // history of a link's path is only the log's (empty), never the target's.
                    let ok = c == "symlink" || (op == "history" && c == "ok");
                    assert!(ok, "{op} {p:?} gave {c}");
                }
            }
            // Listing the folder shows the links as links, never their targets' entries.
            let page = w.store.list(&prefix, None).unwrap();
            let kinds: Vec<_> = page
                .entries
                .iter()
                .filter(|e| e.name.ends_with("link"))
                .map(|e| e.kind)
                .collect();
            assert_eq!(kinds, ["symlink", "symlink", "symlink"]);
            let found = w.store.search("canary", "", None).unwrap();
            assert!(
                found.matches.is_empty(),
                "search followed a link: {found:?}"
            );
        }
        w.assert_outside_untouched();
        let head =
            std::fs::read_to_string(w.base.join("root/state/audit.jsonl")).unwrap_or_default();
        assert_eq!(head, "", "a refused operation reached the log");
    });
}

#[test]
fn a_hard_link_to_an_outside_file_is_refused() {
    both(|mode| {
        let w = World::new(mode);
        std::fs::hard_link(w.base.join("outside/secret"), w.files().join("hl.md")).unwrap();
        for (op, c) in all_ops(&w.store, "hl.md") {
            let want = match op {
                // Not a folder: nothing to list or search in.
                "list" | "search" => "not_found",
                // The log has no record of it.
                "history" => "ok",
                _ => "hard_link",
            };
            assert_eq!(c, want, "{op}");
        }
        let found = w.store.search("canary", "", None).unwrap();
        assert!(found.matches.is_empty(), "search read through a hard link");
        w.assert_outside_untouched();
    });
}

#[test]
fn a_symlink_swapped_in_by_a_racing_thread_never_leads_outside() {
    both(|mode| {
        let w = World::new(mode);
        let files = w.files();
        std::fs::create_dir(files.join("race")).unwrap();
        symlink(w.base.join("outside"), files.join("swap")).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let attacker = {
            let (files, stop) = (files.clone(), stop.clone());
            std::thread::spawn(move || {
                let dir = rustix::fs::open(
                    &files,
                    rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
                    rustix::fs::Mode::empty(),
                )
                .unwrap();
                let mut swaps = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // `race` is atomically a real folder or a link to outside, never absent.
                    rustix::fs::renameat_with(
                        &dir,
                        "race",
                        &dir,
                        "swap",
                        rustix::fs::RenameFlags::EXCHANGE,
                    )
                    .unwrap();
                    swaps += 1;
                }
                swaps
            })
        };
        let mut outcomes = std::collections::BTreeMap::new();
        for i in 0..10_000u32 {
            let c = match i % 4 {
                0 => code(w.store.write(WHO, "race/note.md", "inside", None)),
                1 => code(w.store.read("race/note.md", None)),
                2 => code(w.store.append(WHO, "race/log.md", "x")),
                _ => code(w.store.write(WHO, "race/secret", "pwned", None)),
            };
            *outcomes.entry(c).or_insert(0u32) += 1;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let swaps = attacker.join().unwrap();
        assert!(swaps > 100, "the attacker barely ran ({swaps} swaps)");
        for c in outcomes.keys() {
            assert!(
                ["ok", "symlink", "not_found"].contains(c),
                "unexpected outcome {c}: {outcomes:?}"
            );
        }
        assert!(
            outcomes.get("symlink").copied().unwrap_or(0) > 0,
            "{outcomes:?}"
        );
        assert!(outcomes.get("ok").copied().unwrap_or(0) > 0, "{outcomes:?}");
        w.assert_outside_untouched();
    });
}

#[test]
fn nul_control_characters_and_device_names_are_invalid() {
    both(|mode| {
        let w = World::new(mode);
        for p in [
            "a\0b.md",
            "nul\0",
            "line\nbreak.md",
            "tab\there",
            "esc\u{1b}[31m.md",
            "del\u{7f}",
            "c1\u{85}",
            "bidi\u{202E}dm.exe",
            "CON",
            "con",
            "NUL",
            "nul.txt",
            "COM1",
            "com1.md",
            "LPT1",
            "AUX.log",
            "PRN",
            "notes/CON/x.md",
            "COM\u{b9}",
            "trailing.",
            "trailing ",
            "ab:c",
            "a|b",
            "what?",
            "star*",
            "<x>",
            "q\"uote",
        ] {
            assert_eq!(
                code(w.store.write(WHO, p, "x", None)),
                "invalid_name",
                "write {p:?}"
            );
            assert_eq!(code(w.store.read(p, None)), "invalid_name", "read {p:?}");
        }
        assert_eq!(w.log_lines(), 0);
        assert!(std::fs::read_dir(w.files()).unwrap().next().is_none());
    });
}

#[test]
fn nfc_nfd_and_case_twins_never_become_two_files() {
    both(|mode| {
        let w = World::new(mode);
        let nfc = "caf\u{e9}.md";
        let nfd = "cafe\u{301}.md";
        let a = w.store.write(WHO, nfc, "one", None).unwrap();
        let b = w.store.write(WHO, nfd, "two", None).unwrap();
        assert_eq!(a.path, b.path, "NFD was not normalised to NFC");
        assert_eq!(w.store.read(nfc, None).unwrap().content, "two");
        assert_eq!(w.store.list("", None).unwrap().entries.len(), 1);
        // Case twins, and width twins, are refused.
        w.store.write(WHO, "Alice.md", "a", None).unwrap();
        for twin in ["alice.md", "ALICE.md", "\u{FF21}lice.md"] {
            assert_eq!(code(w.store.write(WHO, twin, "b", None)), "name_collision");
            assert_eq!(code(w.store.append(WHO, twin, "b")), "name_collision");
        }
        w.store.write(WHO, "Notes/x.md", "a", None).unwrap();
        assert_eq!(
            code(w.store.write(WHO, "notes/y.md", "b", None)),
            "name_collision"
        );
        // An NFD name planted on disk collides with the NFC name asked for.
        std::fs::write(w.files().join("re\u{301}sume\u{301}.md"), b"planted").unwrap();
        assert_eq!(
            code(w.store.write(WHO, "r\u{e9}sum\u{e9}.md", "x", None)),
            "name_collision"
        );
    });
}

#[test]
fn caps_are_typed_errors_that_write_nothing() {
    both(|mode| {
        let w = World::new(mode);
        let big = "x".repeat(300 * 1024);
        assert_eq!(code(w.store.write(WHO, "big.md", &big, None)), "too_large");
        assert!(!w.files().join("big.md").exists());
        w.store
            .write(WHO, "grow.md", &"y".repeat(200 * 1024), None)
            .unwrap();
        let before = std::fs::read(w.files().join("grow.md")).unwrap();
        assert_eq!(
            code(w.store.append(WHO, "grow.md", &"z".repeat(100 * 1024))),
            "too_large"
        );
        assert_eq!(std::fs::read(w.files().join("grow.md")).unwrap(), before);
        assert_eq!(w.log_lines(), 1);
        if mode == Resolve::Walk {
            // Counting entries does not depend on how paths are resolved: once is enough.
            return;
        }
        // The 1,001st entry of a folder.
        for i in 0..999 {
            w.store
                .write(WHO, &format!("f{i:04}.md"), "", None)
                .unwrap();
        }
        assert_eq!(
            code(w.store.write(WHO, "one-too-many.md", "x", None)),
            "too_many_files"
        );
        assert_eq!(
            code(w.store.write(WHO, "newdir/x.md", "x", None)),
            "too_many_files"
        );
        assert!(!w.files().join("one-too-many.md").exists());
        assert!(!w.files().join("newdir").exists());
        // Replacing a file in a full folder is fine.
        w.store.write(WHO, "f0001.md", "still fine", None).unwrap();
        // Depth.
        let deep: String = (0..17).map(|i| format!("d{i}/")).collect::<String>() + "x.md";
        assert_eq!(code(w.store.write(WHO, &deep, "x", None)), "too_deep");
    });
}

#[test]
fn depth_and_total_size_caps() {
    let w = World::with(
        Resolve::Openat2,
        Limits {
            fsync: false,
            max_depth: 3,
            max_total_size: 10_000,
            ..Limits::default()
        },
    );
    w.store.write(WHO, "a/b/c.md", "ok", None).unwrap();
    assert_eq!(
        code(w.store.write(WHO, "a/b/c/d.md", "x", None)),
        "too_deep"
    );
    assert!(!w.files().join("a/b/c").exists());
    w.store
        .write(WHO, "one.md", &"x".repeat(6_000), None)
        .unwrap();
    assert_eq!(
        code(w.store.write(WHO, "two.md", &"x".repeat(6_000), None)),
        "store_full"
    );
    assert!(!w.files().join("two.md").exists());
    // Shrinking or deleting frees room.
    w.store.delete(WHO, "one.md").unwrap();
    w.store
        .write(WHO, "two.md", &"x".repeat(6_000), None)
        .unwrap();
}

#[test]
fn long_results_come_in_parts_with_a_cursor() {
    let w = World::new(Resolve::Openat2);
    let text: String = (0..15_000).map(|i| format!("line {i} é\n")).collect();
    assert!(text.len() > 64 * 1024 * 2 && text.len() < 256 * 1024);
    w.store.write(WHO, "long.md", &text, None).unwrap();
    let mut got = String::new();
    let mut cursor: Option<String> = None;
    let mut parts = 0;
    loop {
        let page = w.store.read("long.md", cursor.as_deref()).unwrap();
        assert!(page.content.len() <= 64 * 1024);
        got.push_str(&page.content);
        parts += 1;
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(got, text);
    assert!(parts >= 3);
    // A cursor for an older version is a conflict, not a mix of two versions.
    let first = w.store.read("long.md", None).unwrap();
    w.store.append(WHO, "long.md", "more\n").unwrap();
    assert_eq!(
        code(w.store.read("long.md", first.cursor.as_deref())),
        "conflict"
    );
    assert_eq!(code(w.store.read("long.md", Some("garbage"))), "bad_cursor");
    // Listings and searches page too.
    for i in 0..300 {
        w.store
            .write(
                WHO,
                &format!("many/{i:03}-{}.md", "n".repeat(200)),
                "needle\n",
                None,
            )
            .unwrap();
    }
    let mut names = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = w.store.list("many", cursor.as_deref()).unwrap();
        names += page.entries.len();
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(names, 300);
    let first = w.store.search("needle", "many", None).unwrap();
    assert!(first.cursor.is_some());
    let mut hits = first.matches.len();
    let mut cursor = first.cursor;
    while let Some(c) = cursor {
        let p = w.store.search("needle", "many", Some(&c)).unwrap();
        hits += p.matches.len();
        cursor = p.cursor;
    }
    assert_eq!(hits, 300);
    // A cursor belongs to the call it came from: another folder, query or file is refused.
    let list_cursor = w.store.list("many", None).unwrap().cursor.unwrap();
    assert_eq!(code(w.store.list("", Some(&list_cursor))), "bad_cursor");
    let search_cursor = w
        .store
        .search("needle", "many", None)
        .unwrap()
        .cursor
        .unwrap();
    assert_eq!(
        code(w.store.search("other", "many", Some(&search_cursor))),
        "bad_cursor"
    );
    assert_eq!(
        code(w.store.search("needle", "", Some(&search_cursor))),
        "bad_cursor"
    );
    // Another file's read cursor (same content, so the same version) and crafted positions are
    // refused as cursors, never taken as a position or a conflict (bb-mem-s5b #11).
    w.store.write(WHO, "long2.md", &text, None).unwrap();
    let other = w.store.read("long2.md", None).unwrap().cursor.unwrap();
    assert_eq!(code(w.store.read("long.md", Some(&other))), "bad_cursor");
    let crafted_pos = other.rsplit_once('~').unwrap().0.to_owned();
    assert_eq!(
        code(w.store.read("long2.md", Some(&crafted_pos))),
        "bad_cursor"
    );
    assert_eq!(
        code(w.store.list("many", Some(r#"["many","zzzz"]"#))),
        "bad_cursor"
    );
    assert_eq!(
        code(w.store.search(
            "needle",
            "many",
            Some(r#"["needle","many","e/file000.md",0]"#)
        )),
        "bad_cursor"
    );
    let (pos, tag) = search_cursor.rsplit_once('~').unwrap();
    let tampered = format!("{}~{tag}", pos.replace("needle", "needlf"));
    assert_eq!(
        code(w.store.search("needle", "many", Some(&tampered))),
        "bad_cursor"
    );
}

#[test]
fn a_stale_expected_version_is_a_conflict() {
    let w = World::new(Resolve::Openat2);
    let v1 = w
        .store
        .write(WHO, "alice.md", "likes tea", None)
        .unwrap()
        .version
        .unwrap();
    let v2 = w
        .store
        .write(WHO, "alice.md", "likes coffee", Some(&v1))
        .unwrap()
        .version
        .unwrap();
    let e = w
        .store
        .write(WHO, "alice.md", "likes water", Some(&v1))
        .unwrap_err();
    assert_eq!(e.code(), "conflict");
    assert!(e.to_string().contains(&v2), "{e}");
    assert_eq!(
        w.store.read("alice.md", None).unwrap().content,
        "likes coffee"
    );
    // "" means "must not exist yet".
    assert_eq!(
        code(w.store.write(WHO, "alice.md", "x", Some(""))),
        "conflict"
    );
    w.store.write(WHO, "bob.md", "new", Some("")).unwrap();
}

#[test]
fn fifos_and_folders_are_not_files_and_never_block() {
    let w = World::new(Resolve::Openat2);
    let fifo = w.files().join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    assert_eq!(code(w.store.read("pipe", None)), "not_a_file");
    assert_eq!(code(w.store.write(WHO, "pipe", "x", None)), "not_a_file");
    w.store.write(WHO, "dir/x.md", "x", None).unwrap();
    assert_eq!(code(w.store.read("dir", None)), "not_a_file");
    assert_eq!(code(w.store.delete(WHO, "dir")), "not_empty");
}

#[test]
fn the_tools_cannot_reach_the_log_locks_or_temp_files() {
    both(|mode| {
        let w = World::new(mode);
        w.store.write(WHO, "a.md", "x", None).unwrap();
        let state = w.base.join("root/state");
        let log = std::fs::read(state.join("audit.jsonl")).unwrap();
        let head = std::fs::read(state.join("audit.head")).unwrap();
        std::fs::write(w.base.join("root/tmp/leftover"), b"temp").unwrap();
        for p in [
            "../state/audit.jsonl",
            "../state/audit.head",
            "../state/lock",
            "../state/pending.json",
            "../tmp/leftover",
            "../files/a.md",
        ] {
            assert_all(&w.store, p, &["outside_root"]);
        }
        let abs = state.join("audit.jsonl").display().to_string();
        assert_all(&w.store, &abs, &["outside_root"]);
        // Inside files/ these names are just names: nothing there is the log.
        assert_eq!(code(w.store.read("state/audit.jsonl", None)), "not_found");
        assert_eq!(std::fs::read(state.join("audit.jsonl")).unwrap(), log);
        assert_eq!(std::fs::read(state.join("audit.head")).unwrap(), head);
        // Stale temp files are cleaned by the next writer's recovery only when a crash left a
        // journal; the tools never see them either way.
        assert!(w
            .store
            .list("", None)
            .unwrap()
            .entries
            .iter()
            .all(|e| e.name == "a.md"));
    });
}

#[test]
fn audit_verify_finds_edits_deletions_reorders_and_a_cut_tail() {
    let fresh = || {
        let w = World::new(Resolve::Openat2);
        for i in 0..5 {
            w.store
                .write(WHO, &format!("p{i}.md"), &format!("v{i}"), None)
                .unwrap();
        }
        w
    };
    let codes = |w: &World| -> Vec<String> {
        let r = w.store.verify().unwrap();
        let mut c: Vec<String> = r
            .chain
            .problems
            .iter()
            .map(|p| p.code().to_owned())
            .collect();
        c.extend(r.files.iter().map(|f| f.code.to_owned()));
        c
    };
    let log = |w: &World| w.base.join("root/state/audit.jsonl");
    let lines = |w: &World| -> Vec<String> {
        std::fs::read_to_string(log(w))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let put = |w: &World, l: &[String]| std::fs::write(log(w), l.join("\n") + "\n").unwrap();

    let w = fresh();
    assert!(w.store.verify().unwrap().is_intact());
    std::fs::write(w.files().join("p2.md"), b"edited behind the store's back").unwrap();
    assert_eq!(codes(&w), ["edited"]);

    let w = fresh();
    std::fs::remove_file(w.files().join("p3.md")).unwrap();
    assert_eq!(codes(&w), ["deleted"]);

    let w = fresh();
    let mut l = lines(&w);
    l.remove(2);
    put(&w, &l);
    assert!(codes(&w).contains(&"deleted".to_owned()), "{:?}", codes(&w));

    let w = fresh();
    let mut l = lines(&w);
    l[1] = l[1].replace("\"length\":2", "\"length\":3");
    put(&w, &l);
    assert!(codes(&w).contains(&"edited".to_owned()), "{:?}", codes(&w));

    let w = fresh();
    let mut l = lines(&w);
    l.swap(1, 2);
    put(&w, &l);
    assert!(
        codes(&w).contains(&"reordered".to_owned()),
        "{:?}",
        codes(&w)
    );

    let w = fresh();
    let mut l = lines(&w);
    l.truncate(4);
    put(&w, &l);
    assert!(
        codes(&w).contains(&"tail_cut".to_owned()),
        "{:?}",
        codes(&w)
    );
    // A cut chain is never extended: writes are refused until someone looks.
    assert_eq!(code(w.store.write(WHO, "p9.md", "x", None)), "audit");
    assert!(!w.files().join("p9.md").exists());

    let w = fresh();
    std::fs::write(w.files().join("planted.md"), b"never written by a tool").unwrap();
    std::fs::set_permissions(
        w.files().join("planted.md"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    assert_eq!(codes(&w), ["unrecorded"]);
}

#[test]
fn history_answers_when_a_file_changed_and_who_changed_it() {
    let w = World::new(Resolve::Openat2);
    let alice = Actor {
        principal: "alice",
        tool: "memory_write",
    };
    let bob = Actor {
        principal: "bob",
        tool: "memory_append",
    };
    w.store
        .write(alice, "people/carol.md", "likes tea\n", None)
        .unwrap();
    w.store
        .append(bob, "people/carol.md", "likes cake\n")
        .unwrap();
    w.store.write(alice, "people/dave.md", "x", None).unwrap();
    let h = w.store.history("people/carol.md", None).unwrap();
    let who: Vec<_> = h
        .changes
        .iter()
        .map(|c| (c.principal.as_str(), c.tool.as_str(), c.length))
        .collect();
    assert_eq!(
        who,
        [("alice", "memory_write", 10), ("bob", "memory_append", 21)]
    );
    assert_eq!(
        h.changes[1].sha256.as_deref(),
        Some(
            w.store
                .read("people/carol.md", None)
                .unwrap()
                .version
                .as_str()
        )
    );
    let log = std::fs::read_to_string(w.base.join("root/state/audit.jsonl")).unwrap();
    assert!(!log.contains("likes"), "content reached the audit log");
    assert_eq!(w.store.changes(Some("people"), None).unwrap().len(), 3);
}
