//! `vigil scan` against the fail-opens of the black-box report bb-scan-s9 (issue 20): content
//! that the scan could not look into and still called clean. Each through the real binary, on
//! files (and git blobs) built at run time, tokens built at run time.

use crate::common;

use base64::Engine as _;
use common::*;
use std::io::Write as _;
use std::process::Command as Std;
use tempfile::TempDir;

/// (file, rule, line, secret) of every finding of a `--show-secrets` JSON report, sorted.
fn found(out: &std::process::Output) -> Vec<(String, String, u64, String)> {
    common::findings_with_secrets(out)
}

/// The files of `found`, in order.
fn names(out: &std::process::Output) -> Vec<String> {
    found(out).into_iter().map(|(f, ..)| f).collect()
}

/// Writes `files` into a fresh repository and stages them, then runs `vigil scan --staged`
/// with `extra` arguments.
fn staged(files: &[(&str, Vec<u8>)], extra: &[&str]) -> (TempDir, std::process::Output) {
    let g = TempDir::new().unwrap();
    git_init(g.path());
    for (name, body) in files {
        write(g.path(), name, body);
    }
    git(g.path(), &["add", "-A"]);
    let mut args = vec!["scan", "--staged", "-f", "json", "--show-secrets"];
    args.extend_from_slice(extra);
    let out = run(g.path(), &args);
    (g, out)
}

/// A tar of `payload/.env` holding `body`, made by the system's `tar`.
fn tar_of(body: &str) -> Vec<u8> {
    let work = TempDir::new().unwrap();
    write(work.path(), "payload/.env", body);
    let st = Std::new("tar")
        .current_dir(work.path())
        .args(["cf", "p.tar", "payload"])
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::read(work.path().join("p.tar")).unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut o = Vec::new();
    lzma_rs::xz_compress(&mut &data[..], &mut o).unwrap();
    o
}

fn bz2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zst(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A deflated zip of `(name, bytes)` members.
fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(body).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// bb-scan-s9 F1: xz, bzip2 and zstd files and tarballs (a `.tar.xz` release, a zstd OCI
/// layer with no extension) were read as binary and called clean. They are unpacked, by their
/// magic bytes, and their members named as any archive's; a damaged one is a gap (exit 2).
#[test]
fn xz_bzip2_and_zstd_files_and_tarballs_are_read() {
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 4101);
    let tar = tar_of(&format!("GITHUB_TOKEN={gh}\n"));
    let log = format!("started\ntoken = {gh}\n").into_bytes();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("a.tar.xz", xz(&tar)),
        ("a.tar.bz2", bz2(&tar)),
        ("blobs/sha256/layer", zst(&tar)),
        ("app.log.xz", xz(&log)),
        ("app.log.bz2", bz2(&log)),
        ("app.log.zst", zst(&log)),
    ];
    let dir = TempDir::new().unwrap();
    for (name, body) in &files {
        write(dir.path(), name, body);
    }
    let want = vec![
        "a.tar.bz2!payload/.env",
        "a.tar.xz!payload/.env",
        "app.log.bz2!app.log",
        "app.log.xz!app.log",
        "app.log.zst!app.log",
        "blobs/sha256/layer!payload/.env",
    ];
    let out = run(dir.path(), &["scan", ".", "-f", "json", "--show-secrets"]);
    expect_exit(&out, 1);
    assert_eq!(names(&out), want);
    assert!(found(&out).iter().all(|(.., s)| *s == gh));
    let (_g, out) = staged(&files, &[]);
    expect_exit(&out, 1);
    assert_eq!(names(&out), want);
    // Cut in half: it cannot be read to its end, and the scan says so.
    let x = xz(&log);
    write(dir.path(), "cut.xz", &x[..x.len() / 2]);
    let out = run(dir.path(), &["scan", "cut.xz", "-f", "json"]);
    expect_exit(&out, 2);
}

/// bb-scan-s9 F2: a member larger than `--max-file-size` (a 38 KB zip holding an 11 MiB log)
/// was skipped and the scan exited 0. It is read in chunks, as a file of that size is, in a
/// zip, a gzip and a tar.gz, in files and in git blobs.
#[test]
fn an_archive_member_over_the_size_limit_is_read_in_chunks() {
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 4102);
    let mut big = Vec::new();
    // Lines that do not compress a hundred times (the ratio limit stays out of it).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..40_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        big.extend(format!("{i:08} request {x:016x} served\n").as_bytes());
    }
    big.extend(format!("last line token={gh}\n").as_bytes());
    assert!(big.len() > 1 << 20);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("big.zip", zip_of(&[("app.log", &big)])),
        ("app.log.gz", gz(&big)),
        ("logs.tgz", gz(&tar_of(std::str::from_utf8(&big).unwrap()))),
    ];
    let dir = TempDir::new().unwrap();
    for (name, body) in &files {
        write(dir.path(), name, body);
    }
    let want = vec![
        ("app.log.gz!app.log".to_owned(), 40_001),
        ("big.zip!app.log".to_owned(), 40_001),
        ("logs.tgz!payload/.env".to_owned(), 40_001),
    ];
    let args = [
        "scan",
        ".",
        "-f",
        "json",
        "--show-secrets",
        "--max-file-size",
        "1MiB",
    ];
    let out = run(dir.path(), &args);
    expect_exit(&out, 1);
    let got: Vec<(String, u64)> = found(&out).into_iter().map(|(f, _, l, _)| (f, l)).collect();
    assert_eq!(got, want);
    let (_g, out) = staged(&files, &["--max-file-size", "1MiB"]);
    expect_exit(&out, 1);
    let got: Vec<(String, u64)> = found(&out).into_iter().map(|(f, _, l, _)| (f, l)).collect();
    assert_eq!(got, want);
}

/// bb-scan-s9 F3, F13: a zip with another zip in front of it (`cat A.zip B.zip`) hid A's
/// members, and an entry named like a folder (`folder/`) that holds data was passed over.
/// Both are read.
#[test]
fn a_zip_in_front_of_another_and_a_folder_entry_with_data_are_read() {
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 4103);
    let aws = token("«AKIA{upper32:16}»", 4104);
    let a = zip_of(&[("secret.txt", format!("token = {gh}\n").as_bytes())]);
    let b = zip_of(&[("clean.txt", b"nothing here\n")]);
    let lie = {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("folder/", opts).unwrap();
        w.write_all(format!("aws_access_key_id = {aws}\n").as_bytes())
            .unwrap();
        w.finish().unwrap().into_inner()
    };
    let dir = TempDir::new().unwrap();
    write(dir.path(), "concat.zip", [a, b].concat());
    write(dir.path(), "dirlie.zip", lie);
    let out = run(dir.path(), &["scan", ".", "-f", "json", "--show-secrets"]);
    expect_exit(&out, 1);
    let got: Vec<(String, String)> = found(&out).into_iter().map(|(f, r, ..)| (f, r)).collect();
    assert_eq!(
        got,
        vec![
            ("concat.zip!secret.txt".to_owned(), "github-pat".to_owned()),
            (
                "dirlie.zip!folder/".to_owned(),
                "aws-access-token".to_owned()
            ),
        ]
    );
}

/// bb-scan-s9 F6: `--max-decode-depth 0` (flag or `vigil.toml`) dropped encoded secrets and
/// called the scan complete. Text still encoded after 0 decodings is a gap, as past any
/// other depth: exit 2, the reason in the report.
#[test]
fn decoding_turned_off_leaves_encoded_text_as_a_gap() {
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 4105);
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("token={gh}"));
    let dir = TempDir::new().unwrap();
    write(dir.path(), "enc.txt", format!("blob: {b64}\n"));
    write(dir.path(), "plain.txt", "nothing encoded here\n");
    let out = run(
        dir.path(),
        &["scan", "enc.txt", "-f", "json", "--max-decode-depth", "0"],
    );
    expect_exit(&out, 2);
    let v = json(&out);
    let last = v.as_array().unwrap().last().unwrap();
    assert_eq!(last["incomplete"], true, "{v}");
    assert!(last.to_string().contains("enc.txt"), "{last}");
    write(dir.path(), "vigil.toml", "[scan]\nmax_decode_depth = 0\n");
    let out = run(dir.path(), &["scan", "."]);
    expect_exit(&out, 2);
    // Nothing encoded: nothing left unread.
    let out = run(
        dir.path(),
        &["scan", "plain.txt", "--max-decode-depth", "0"],
    );
    expect_exit(&out, 0);
    // Decoding on (the default), the secret is found.
    std::fs::remove_file(dir.path().join("vigil.toml")).unwrap();
    let out = run(
        dir.path(),
        &["scan", "enc.txt", "-f", "json", "--show-secrets"],
    );
    expect_exit(&out, 1);
    assert_eq!(found(&out).len(), 1);
}

/// bb-scan-s9 F4, F5: a placeholder word (`xxxx`, `fake`, `example`…) that turned up inside
/// the random part of a checksummed GitHub token or a provider's token dismissed it, and a
/// password holding a `$` was taken for a `$VAR` reference; both were neither found nor
/// redacted. Tokens placeholder-like as a whole and real references stay dismissed.
#[test]
fn marker_words_inside_tokens_and_dollars_inside_passwords_do_not_hide_them() {
    let dir = TempDir::new().unwrap();
    let mut lines = Vec::new();
    let mut want = Vec::new();
    for (i, w) in [
        "xxxx", "XxXx", "EXAMPLE", "fake", "dummy", "sample", "redacted",
    ]
    .iter()
    .enumerate()
    {
        // A checksummed token whose random part holds the word.
        let t = token(
            &format!("«ghp_{{alnum:10}}{w}{{alnum:{}}}{{ghcrc}}»", 20 - w.len()),
            4110 + i as u64,
        );
        assert!(t.contains(w), "{t}");
        lines.push(format!("t{i} = \"{t}\""));
        want.push((i + 1, t));
    }
    let slack = token(
        "«xoxb-{digits:12}-{digits:13}-{alnum:8}fake{alnum:12}»",
        4120,
    );
    lines.push(format!("SLACK = \"{slack}\""));
    want.push((lines.len(), slack));
    let pw = token("«{alnum:9}$v{alnum:10}»", 4121);
    lines.push(format!("DB_PASSWORD={pw}"));
    want.push((lines.len(), pw.clone()));
    let smtp = token("«{alnum:22}»", 4122);
    lines.push(format!("SMTP_PASS={smtp}"));
    want.push((lines.len(), smtp));
    // Placeholders as a whole, and references.
    lines.push(format!("t = \"ghp_{}\"", "x".repeat(36)));
    lines.push("DB_PASSWORD=$POSTGRES_PASSWORD".to_owned());
    lines.push("aws_access_key_id = AKIAIOSFODNN7EXAMPLE".to_owned());
    write(dir.path(), "app.env", lines.join("\n") + "\n");
    let out = run(
        dir.path(),
        &["scan", "app.env", "-f", "json", "--show-secrets"],
    );
    expect_exit(&out, 1);
    let mut got: Vec<(usize, String)> = found(&out)
        .into_iter()
        .map(|(_, _, l, s)| (l as usize, s))
        .collect();
    got.sort();
    assert_eq!(got, want);
    // `vigil redact` uses the same rules: no value survives.
    let red = vigil(dir.path())
        .args(["redact", "-q", "app.env"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&red.stdout);
    for (_, s) in &want {
        assert!(!text.contains(s.as_str()), "{s} in {text}");
    }
    assert!(text.contains("$POSTGRES_PASSWORD"), "{text}");
}

/// bb-scan-s9 F7: a file named after a token that also holds a secret printed the token in
/// full in the content finding's file and fingerprint, in every format and in `-o` files. Both
/// findings name the file with the token masked.
#[test]
fn a_token_in_a_file_name_is_masked_in_every_finding() {
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 4130);
    let aws = token("«AKIA{upper32:16}»", 4131);
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        &format!("nm/x-{gh}.py"),
        format!("aws_access_key_id = \"{aws}\"\n"),
    );
    for f in ["json", "sarif", "csv", "junit", "markdown", "text"] {
        let out = run(dir.path(), &["scan", "nm", "-f", f]);
        expect_exit(&out, 1);
        let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        let all = String::from_utf8_lossy(&all);
        assert!(!all.contains(&gh), "{f}: {all}");
        assert!(!all.contains(&aws), "{f}: {all}");
    }
    let out = run(dir.path(), &["scan", "nm", "-f", "json", "-o", "r.json"]);
    expect_exit(&out, 1);
    let saved = std::fs::read_to_string(dir.path().join("r.json")).unwrap();
    assert!(!saved.contains(&gh), "{saved}");
    let v: serde_json::Value = serde_json::from_str(&saved).unwrap();
    let files: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["file"].as_str())
        .collect();
    assert_eq!(files.len(), 2, "{v}");
    assert!(
        files.iter().all(|f| *f == files[0] && f.contains('…')),
        "{v}"
    );
}

/// bb-scan-s9 F9: the classic credential files of a home folder or an image layer (git's
/// credential store, `.netrc`, Docker's `config.json`, `.npmrc`'s `_auth`) were not found.
#[test]
fn classic_credential_files_are_found() {
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let pw = |seed| token("«{alnum:20}»", seed);
    let (p1, p2, p3, p4) = (pw(4140), pw(4141), pw(4142), pw(4143));
    let docker = b64(format!("bob:{p3}"));
    let npm = b64(format!("bob:{p4}"));
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "home/.git-credentials",
        format!("https://bob:{p1}@github.com\n"),
    );
    write(
        dir.path(),
        "home/.netrc",
        format!("machine api.example.com login bob password {p2}\n"),
    );
    write(
        dir.path(),
        "home/.docker/config.json",
        format!("{{\"auths\": {{\"registry.example.com\": {{\"auth\": \"{docker}\"}}}}}}\n"),
    );
    write(
        dir.path(),
        "home/.npmrc",
        format!("//npm.pkg.github.com/:_auth={npm}\n"),
    );
    let out = run(
        dir.path(),
        &["scan", "home", "-f", "json", "--show-secrets"],
    );
    expect_exit(&out, 1);
    let got: Vec<(String, String, String)> = found(&out)
        .into_iter()
        .map(|(f, r, _, s)| (f, r, s))
        .collect();
    let w = |f: &str, r: &str, s: &str| (f.to_owned(), r.to_owned(), s.to_owned());
    assert_eq!(
        got,
        vec![
            w("home/.docker/config.json", "docker-config-auth", &docker),
            w("home/.git-credentials", "url-password", &p1),
            w("home/.netrc", "netrc-password", &p2),
            w("home/.npmrc", "npmrc-auth", &npm),
        ]
    );
}

/// bb-scan-s9 F10: `vigil redact` copied a gzip, xz, bzip2 or zstd log through unchanged
/// (its compressed secrets with it) and said "redacted 0". Compressed input is refused: one
/// line naming it and the tool that decompresses it, exit 2, nothing written.
#[test]
fn redact_refuses_compressed_input() {
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 4150);
    let log = format!("started\ntoken = {gh}\n").into_bytes();
    let dir = TempDir::new().unwrap();
    for (name, body, tool) in [
        ("app.log.1.gz", gz(&log), "zcat"),
        ("app.log.xz", xz(&log), "xzcat"),
        ("app.log.bz2", bz2(&log), "bzcat"),
        ("app.log.zst", zst(&log), "zstdcat"),
    ] {
        write(dir.path(), name, &body);
        let out = run(dir.path(), &["redact", name]);
        expect_exit(&out, 2);
        assert!(out.stdout.is_empty(), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(name) && err.contains(tool), "{err}");
        let out = vigil(dir.path())
            .args(["redact"])
            .write_stdin(body.clone())
            .output()
            .unwrap();
        expect_exit(&out, 2);
        assert!(out.stdout.is_empty(), "{name} on stdin");
    }
    // Text that starts like bzip2's magic is still text.
    write(dir.path(), "plain.log", format!("BZh9 then token = {gh}\n"));
    let out = run(dir.path(), &["redact", "-q", "plain.log"]);
    expect_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains(&gh) && text.starts_with("BZh9 then"),
        "{text}"
    );
}

/// bb-scan-s9 F8: a `.gitleaks.toml` committed beside the code with a catch-all allowlist
/// (`regexes = ['''.''']`) cleared a checksummed GitHub token and an AWS key, exit 0. A found
/// configuration's regexes and stopwords never drop a built-in provider shape; its path
/// allowlists (fixtures) still apply, and a configuration named with `--config` applies as
/// written.
#[test]
fn a_found_catch_all_allowlist_does_not_hide_provider_tokens() {
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 4160);
    let aws = token("«AKIA{upper32:16}»", 4161);
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        ".gitleaks.toml",
        "[[allowlists]]\nregexes = ['''.''']\n\n[[allowlists]]\nstopwords = [\"a\", \"1\"]\n\n[[allowlists]]\npaths = ['''^fixtures/''']\n",
    );
    let body = format!("GH = \"{gh}\"\naws_access_key_id = \"{aws}\"\n");
    write(dir.path(), "app.py", &body);
    write(dir.path(), "fixtures/t.py", &body);
    let out = run(dir.path(), &["scan", "-f", "json", "--show-secrets"]);
    expect_exit(&out, 1);
    let got: Vec<(String, String)> = found(&out).into_iter().map(|(f, r, ..)| (f, r)).collect();
    assert_eq!(
        got,
        vec![
            ("app.py".to_owned(), "aws-access-token".to_owned()),
            ("app.py".to_owned(), "github-pat".to_owned()),
        ]
    );
    let out = run(dir.path(), &["scan", ".", "--config", ".gitleaks.toml"]);
    expect_exit(&out, 0);
}
