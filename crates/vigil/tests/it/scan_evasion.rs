//! `vigil scan` against the one-character evasions black-box testers found (issue 20): a
//! character glued to a token, an encoded run glued to other characters of its alphabet, one
//! NUL byte making a file "binary", padding making it "too large". Each through the real binary,
//! as a file scan and as `--staged`.

use crate::common;

use base64::Engine as _;
use common::*;
use std::process::Command as Std;
use tempfile::TempDir;

/// (file, rule, line, secret) of every finding of a `--show-secrets` JSON report, sorted.
fn found(out: &std::process::Output) -> Vec<(String, String, u64, String)> {
    common::findings_with_secrets(out)
}

/// Writes `files` into a fresh repository and stages them: `vigil scan --staged` must give the
/// same findings as the file scan.
fn staged(files: &[(&str, Vec<u8>)]) -> (TempDir, std::process::Output) {
    let g = TempDir::new().unwrap();
    git(g.path(), &["init", "-q", "-b", "main"]);
    for (name, body) in files {
        write(g.path(), name, body);
    }
    git(g.path(), &["add", "-A"]);
    let out = run(
        g.path(),
        &["scan", "--staged", "-f", "json", "--show-secrets"],
    );
    (g, out)
}

/// bb-gw-s5 #4: one letter, digit or `_` glued before or after a token of a distinctive shape
/// hid it (word boundaries). It is found, and the secret is the token alone.
#[test]
fn a_character_glued_to_a_token_does_not_hide_it() {
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 3101);
    let aws = token("«AKIA{upper32:16}»", 3102);
    let slack = token("«xoxb-{digits:12}-{digits:13}-{alnum:24}»", 3103);
    let stripe = token("«sk_live_{alnum:99}»", 3104);
    let openai = token("«sk-proj-{b64url:74}T3BlbkFJ{b64url:74}»", 3105);
    let anthropic = token("«sk-ant-api03-{b64url:93}AA»", 3106);
    let discord = token("«{b64digits:18}.{b64url:6}.{b64url:38}»", 3107);
    let fine = token("«github_pat_{alnum:22}_{alnum:59}»", 3108);
    let lines = [
        (format!("x{gh}"), "github-pat", &gh),
        (format!("{gh}x"), "github-pat", &gh),
        (format!("_{gh}"), "github-pat", &gh),
        (format!("9{gh}0"), "github-pat", &gh),
        (format!("here{gh}"), "github-pat", &gh),
        (format!("x{aws}"), "aws-access-token", &aws),
        (format!("x{aws}x"), "aws-access-token", &aws),
        (format!("_{slack}"), "slack-bot-token", &slack),
        (format!("x{stripe}x"), "stripe-access-token", &stripe),
        (format!("x{openai}x"), "openai-api-key", &openai),
        (format!("9{anthropic}x"), "anthropic-api-key", &anthropic),
        (format!("N{discord}x"), "discord-bot-token", &discord),
        (format!("_{discord}"), "discord-bot-token", &discord),
        (format!("x{fine}x"), "github-fine-grained-pat", &fine),
    ];
    let body: String = lines.iter().map(|(l, _, _)| format!("{l}\n")).collect();
    let want: Vec<(String, String, u64, String)> = {
        let mut w: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, (_, rule, secret))| {
                (
                    "glued.txt".to_owned(),
                    rule.to_string(),
                    i as u64 + 1,
                    secret.to_string(),
                )
            })
            .collect();
        w.sort();
        w
    };
    let dir = TempDir::new().unwrap();
    write(dir.path(), "glued.txt", &body);
    let out = run(dir.path(), &["scan", ".", "-f", "json", "--show-secrets"]);
    expect_exit(&out, 1);
    assert_eq!(found(&out), want);
    let (_g, out) = staged(&[("glued.txt", body.into_bytes())]);
    expect_exit(&out, 1);
    assert_eq!(found(&out), want);
}

/// bb-git-s5 #4: an encoded run glued to other base64 or hex characters (`a<b64>`, `/<b64>`,
/// `https://host/v1/<b64>`, `key=x<b64>`, a one-character prefix before hex) was not decoded.
#[test]
fn an_encoded_run_glued_to_its_alphabet_is_decoded() {
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 3201);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&gh);
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{gh}!"));
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("token: {gh}"));
    let hex: String = gh.bytes().map(|b| format!("{b:02x}")).collect();
    let lines = [
        format!("a{b64}"),
        format!("abcd{b64}"),
        format!("/{b64}"),
        format!("+{b64}"),
        format!("{raw}x"),
        format!("abc{raw}Q"),
        format!("https://api.example.com/v1/{b64}"),
        format!("key=x{b64}"),
        format!("u=_{url}"),
        format!("a{hex}"),
        format!("x{hex}"),
        format!("secret: 0{hex}f"),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let want: Vec<(String, String, u64, String)> = (1..=lines.len() as u64)
        .map(|i| ("enc.txt".to_owned(), "github-pat".to_owned(), i, gh.clone()))
        .collect();
    let dir = TempDir::new().unwrap();
    write(dir.path(), "enc.txt", &body);
    let out = run(dir.path(), &["scan", ".", "-f", "json", "--show-secrets"]);
    expect_exit(&out, 1);
    assert_eq!(found(&out), want);
    let v = json(&out);
    let hex_line = &v.as_array().unwrap()[9];
    assert_eq!(
        hex_line["decoded"],
        serde_json::json!(["hex"]),
        "{hex_line}"
    );
    let (_g, out) = staged(&[("enc.txt", body.into_bytes())]);
    expect_exit(&out, 1);
    assert_eq!(found(&out), want);
}

/// bb-git-s5 #7: one NUL byte made a file "binary" and 11 MiB of padding made it "too large",
/// and both were skipped. Binary content is read by its printable runs (ASCII and UTF-16LE),
/// and a file over `--max-file-size` in overlapping chunks, the positions the whole file's.
#[test]
fn a_nul_byte_or_padding_does_not_hide_a_secret() {
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 3301);
    let or = token("«sk-or-v1-{hex:64}»", 3302);
    let nul = format!("\0\ntoken={gh}\n").into_bytes();
    let mut padded = format!("{gh}\n").into_bytes();
    padded.extend(std::iter::repeat_n(b'#', 11 << 20));
    // A secret on the far side of a chunk boundary, on line 3 after a long line of padding.
    let mut tail = b"start\n".to_vec();
    tail.extend(std::iter::repeat_n(b'=', 12 << 20));
    tail.extend(format!("\nkey: {or}\n").as_bytes());
    // UTF-16LE text that is mostly Cyrillic, and an executable-like file holding a UTF-16
    // string among other bytes.
    let cyr = format!("Пароль доступа к сервису бота: {gh}\r\nЕщё одна строка текста\r\n");
    let cyr: Vec<u8> = cyr.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut exe = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0xff, 0xfe];
    exe.extend(
        format!("OPENROUTER={or}")
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    exe.extend([0, 0, 0x90, 0x90, 1, 2, 3]);
    let files = vec![
        ("nul.txt", nul),
        ("padded.txt", padded),
        ("tail.log", tail),
        ("cyrillic.txt", cyr),
        ("tool.bin", exe),
    ];
    let dir = TempDir::new().unwrap();
    for (name, body) in &files {
        write(dir.path(), name, body);
    }
    let want = vec![
        (
            "cyrillic.txt".to_owned(),
            "github-pat".to_owned(),
            1,
            gh.clone(),
        ),
        ("nul.txt".to_owned(), "github-pat".to_owned(), 2, gh.clone()),
        (
            "padded.txt".to_owned(),
            "github-pat".to_owned(),
            1,
            gh.clone(),
        ),
        (
            "tail.log".to_owned(),
            "openrouter-api-key".to_owned(),
            3,
            or.clone(),
        ),
        (
            "tool.bin".to_owned(),
            "openrouter-api-key".to_owned(),
            1,
            or.clone(),
        ),
    ];
    let out = run(dir.path(), &["scan", ".", "-f", "json", "--show-secrets"]);
    expect_exit(&out, 1);
    assert_eq!(found(&out), want);
    let v = json(&out);
    let bin = v
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == "tool.bin")
        .unwrap();
    assert_eq!(bin["decoded"], serde_json::json!(["utf-16"]), "{bin}");
    assert_eq!(bin["column"], 37, "placed on its bytes: {bin}");
    let text = run(dir.path(), &["scan", "."]);
    let err = String::from_utf8_lossy(&text.stderr);
    assert!(err.contains("skipped 0 binary, 0 over 10 MiB"), "{err}");
    assert!(err.contains("read by printable runs"), "{err}");
    assert!(err.contains("2 over 10 MiB read in chunks"), "{err}");
    let (_g, out) = staged(&files);
    expect_exit(&out, 1);
    assert_eq!(found(&out), want);
}

/// bb-scan-s6 F2, F4, F9: a private key wrapped narrowly, UTF-32 text, a zip behind a launch
/// script ("fully executable" jar) and a zip member that is a symbolic link each hid a secret.
#[test]
fn narrow_keys_utf32_executable_jars_and_zip_links_are_read() {
    use std::io::Write as _;
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 3401);
    let or = token("«sk-or-v1-{hex:64}»", 3402);
    let body: String = token("«{pem}»", 3403).split('\n').collect();
    let narrow: Vec<String> = body
        .as_bytes()
        .chunks(16)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        narrow.join("\n")
    );
    let u32le: Vec<u8> = [0xFF, 0xFE, 0, 0]
        .into_iter()
        .chain(
            format!("token: {gh}\n")
                .chars()
                .flat_map(|c| (c as u32).to_le_bytes()),
        )
        .collect();
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("BOOT-INF/classes/application.properties", opts)
        .unwrap();
    z.write_all(format!("openrouter.key={or}\n").as_bytes())
        .unwrap();
    let inner = z.finish().unwrap().into_inner();
    let mut jar = b"#!/bin/bash\nexec java -jar \"$0\" \"$@\"\nexit 0\n".to_vec();
    jar.extend(&inner);
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.add_symlink("lnk", format!("GITHUB_TOKEN={gh}"), opts)
        .unwrap();
    let link = z.finish().unwrap().into_inner();
    let files = vec![
        ("k16.pem", pem.into_bytes()),
        ("u32.txt", u32le),
        ("app-exec.jar", jar),
        ("symlink.zip", link),
    ];
    let dir = TempDir::new().unwrap();
    for (name, b) in &files {
        write(dir.path(), name, b);
    }
    let out = run(dir.path(), &["scan", ".", "-f", "json", "--show-secrets"]);
    expect_exit(&out, 1);
    let got: Vec<(String, String)> = found(&out).into_iter().map(|(f, r, _, _)| (f, r)).collect();
    assert_eq!(
        got,
        vec![
            (
                "app-exec.jar!BOOT-INF/classes/application.properties".to_owned(),
                "openrouter-api-key".to_owned()
            ),
            ("k16.pem".to_owned(), "private-key".to_owned()),
            ("symlink.zip!lnk".to_owned(), "github-pat".to_owned()),
            ("u32.txt".to_owned(), "github-pat".to_owned()),
        ]
    );
    let v = json(&out);
    let u32 = v
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == "u32.txt")
        .unwrap();
    assert_eq!(u32["decoded"], serde_json::json!(["utf-32"]), "{u32}");
    let (_g, out) = staged(&files);
    expect_exit(&out, 1);
    assert_eq!(found(&out).len(), 4);
}

/// bb-scan-s7 N0: an escaped control character (`\u001b`, `\u0000`, `\x07`, `%00`, `%1B`) glued
/// to an encoded run, or inside an escaped one, hid it from `scan` and `redact` (also an
/// `--env-file` value). Such escapes separate runs, as a line break does.
#[test]
fn escaped_controls_around_encoded_runs_do_not_hide_them() {
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 3501);
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("token: {gh}"));
    let hex: String = format!("token: {gh}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    let pct: String = gh.bytes().map(|b| format!("%{b:02X}")).collect();
    let esc_u: String = gh.bytes().map(|b| format!("\\u{b:04x}")).collect();
    let esc_x: String = gh.bytes().map(|b| format!("\\x{b:02x}")).collect();
    let lines = [
        format!(r#"{{"log":"{b64}\u001b[0m"}}"#),
        format!(r#"{{"log":"{hex}\u001b[0m"}}"#),
        format!(r#"{{"log":"x\u0000{b64}"}}"#),
        format!(r#""{b64}\x07""#),
        format!("v={b64}%1B%5B0m"),
        format!("GET /cb?code={b64}%00 HTTP/1.1"),
        format!("x%00{pct}"),
        format!("{pct}%00"),
        format!("\\u0000{esc_u}"),
        format!("\\x00{esc_x}"),
        format!("q=caf%C3%A9&t={pct}"),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let dir = TempDir::new().unwrap();
    write(dir.path(), "l.log", &body);
    let out = run(
        dir.path(),
        &["scan", "l.log", "-f", "json", "--show-secrets"],
    );
    expect_exit(&out, 1);
    let want: Vec<(String, String, u64, String)> = (1..=lines.len() as u64)
        .map(|i| ("l.log".to_owned(), "github-pat".to_owned(), i, gh.clone()))
        .collect();
    assert_eq!(found(&out), want);

    // redact: every line loses its token (whatever encoding), every control escape stays.
    let value = format!("Zq8xPlm2Wr7TvB4nKd9Ys{}", "C");
    write(dir.path(), ".env", format!("BOT_TOKEN={value}\n"));
    let vb64 = base64::engine::general_purpose::STANDARD.encode(&value);
    let vpct: String = value.bytes().map(|b| format!("%{b:02X}")).collect();
    let env_lines = format!("a x%00{vpct}\nb {vb64}\\u001b[0m\n");
    write(dir.path(), "env.log", &env_lines);
    for (file, args) in [
        ("l.log", vec!["redact", "l.log"]),
        ("l.log", vec!["redact", "--json", "l.log"]),
        ("env.log", vec!["redact", "--env-file", ".env", "env.log"]),
    ] {
        let out = run(dir.path(), &args);
        expect_exit(&out, 0);
        let text = String::from_utf8(out.stdout).unwrap();
        let n = if file == "l.log" { lines.len() } else { 2 };
        assert_eq!(text.lines().count(), n, "{text}");
        for l in text.lines() {
            assert!(l.contains("[REDACTED:"), "{args:?}: {l}");
            for leak in [&b64, &hex, &pct, &esc_u, &esc_x, &vb64, &vpct, &value] {
                assert!(!l.contains(&leak[4..20]), "{args:?}: {l}");
            }
        }
        if file == "env.log" {
            assert_eq!(
                text,
                "a x%00[REDACTED:env:BOT_TOKEN]\nb [REDACTED:env:BOT_TOKEN]\\u001b[0m\n"
            );
        }
    }
}

/// A private key re-wrapped to `width` characters a line, pasted into each shape people paste
/// keys into: (file name, contents).
fn pasted_keys(body: &str, width: usize) -> Vec<(String, String)> {
    let mut lines = vec!["-----BEGIN RSA PRIVATE KEY-----".to_owned()];
    lines.extend(
        body.as_bytes()
            .chunks(width)
            .map(|c| String::from_utf8(c.to_vec()).unwrap()),
    );
    lines.push("-----END RSA PRIVATE KEY-----".to_owned());
    let each = |f: &dyn Fn(&String) -> String| lines.iter().map(f).collect::<String>();
    let joined = |sep: &str| lines.join(sep);
    vec![
        (
            format!("k{width}.json"),
            format!(
                "{}\n",
                serde_json::json!({ "key": format!("{}\n", joined("\n")) })
            ),
        ),
        (
            format!("k{width}.env"),
            format!("KEY=\"{}\"\n", joined("\\n")),
        ),
        (
            format!("k{width}crlf.env"),
            format!("KEY=\"{}\"\n", joined("\\r\\n")),
        ),
        (format!("k{width}.py"), each(&|l| format!("# {l}\n"))),
        (format!("k{width}.js"), each(&|l| format!("// {l}\n"))),
        (
            format!("k{width}adj.py"),
            format!("KEY = (\n{})\n", each(&|l| format!("    \"{l}\\n\"\n"))),
        ),
        (
            format!("k{width}.java"),
            format!(
                "String k =\n{};\n",
                lines
                    .iter()
                    .map(|l| format!("    \"{l}\\n\""))
                    .collect::<Vec<_>>()
                    .join(" +\n")
            ),
        ),
        (
            format!("k{width}.sh"),
            format!("KEY=\"{}\"\n", joined("\\\n")),
        ),
        (format!("k{width}.md"), each(&|l| format!("> {l}\n"))),
        (format!("k{width}.eml"), each(&|l| format!(">> {l}\n"))),
    ]
}

/// bb-scan-s7 N1: a key wrapped narrowly (4 to 32 characters) was found bare but not pasted
/// into a JSON string, a `.env` value, comments, Python adjacent strings, Java concatenation or
/// a continued shell line; a key quoted with `> ` (Markdown, e-mail) was missed at any width
/// (`>` read as a template's mark), and so was a key whose random body happens to spell a
/// short placeholder word (`Fake`, `TODO`). `redact` keeps none of their key text and every
/// line of them.
#[test]
fn narrow_keys_pasted_into_code_comments_and_quotes_are_found() {
    let body: String = token("«{pem}»", 3601).split('\n').collect();
    let mut files: Vec<(String, String)> = Vec::new();
    for width in [4, 7, 16, 32, 64] {
        files.extend(pasted_keys(&body, width));
    }
    // A random body holding a short placeholder word is still a key.
    let mut worded = body.clone();
    worded.replace_range(100..108, "FakeTODO");
    files.push((
        "worded.pem".to_owned(),
        pasted_keys(&worded, 64)[8].1.clone(),
    ));
    let dir = TempDir::new().unwrap();
    for (name, text) in &files {
        write(dir.path(), name, text);
    }
    let out = run(dir.path(), &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    let got: Vec<(String, String)> = triples(&json(&out))
        .into_iter()
        .map(|(f, r, _)| (f, r))
        .collect();
    let mut want: Vec<(String, String)> = files
        .iter()
        .map(|(f, _)| (f.clone(), "private-key".to_owned()))
        .collect();
    want.sort();
    assert_eq!(got, want);

    for (name, text) in &files {
        let out = run(dir.path(), &["redact", name]);
        expect_exit(&out, 0);
        let red = String::from_utf8(out.stdout).unwrap();
        assert_eq!(red.lines().count(), text.lines().count(), "{name}: {red}");
        assert!(red.contains("[REDACTED:private-key]"), "{name}: {red}");
        let flat: String = red
            .replace("\\n", "")
            .replace("\\r", "")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '='))
            .collect();
        for piece in body.as_bytes().chunks(12) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(!flat.contains(piece), "{name}: {piece} left in {red}");
        }
    }
}

/// bb-scan-s7 N3: a self-extracting installer (makeself's `.run`: a shell script with a tar.gz
/// appended), a program with a tar.gz inside and a script with a gzip behind it hid what their
/// archive held (gzip was recognised only at offset 0). Each archive is opened where it starts
/// and its members named as any archive's; a chance gzip signature in other bytes is no gap.
#[test]
fn archives_inside_self_extracting_installers_are_opened() {
    use std::io::Write as _;
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 3701);
    let work = TempDir::new().unwrap();
    write(work.path(), "payload/.env", format!("GITHUB_TOKEN={gh}\n"));
    let st = Std::new("tar")
        .current_dir(work.path())
        .args(["czf", "p.tgz", "payload"])
        .status()
        .unwrap();
    assert!(st.success());
    let tgz = std::fs::read(work.path().join("p.tgz")).unwrap();
    let script = b"#!/bin/sh\nskip=4\ntail -n +$skip \"$0\" | tar xz\nexit 0\n".to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!("token: {gh}\n").as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    // Bytes that are no text, with a chance gzip signature among them.
    let noise: Vec<u8> = (0..6000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut fake = noise.clone();
    fake.splice(
        3000..3000,
        [0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 0, 3, 0xff, 0xfe],
    );
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("setup.run", [script.clone(), tgz.clone()].concat()),
        (
            "tool.bin",
            [b"\x7fELF\x02\x01\x01\0".to_vec(), noise.clone(), tgz, noise].concat(),
        ),
        ("unpack.sh", [script, gz, b"trailing\n".to_vec()].concat()),
        ("noise.bin", fake),
    ];
    let dir = TempDir::new().unwrap();
    for (name, body) in &files {
        write(dir.path(), name, body);
    }
    let out = run(dir.path(), &["scan", ".", "-f", "json", "--show-secrets"]);
    expect_exit(&out, 1);
    let got: Vec<(String, String)> = found(&out).into_iter().map(|(f, r, _, _)| (f, r)).collect();
    assert_eq!(
        got,
        vec![
            ("setup.run!payload/.env".to_owned(), "github-pat".to_owned()),
            ("tool.bin!payload/.env".to_owned(), "github-pat".to_owned()),
            ("unpack.sh!-".to_owned(), "github-pat".to_owned()),
        ]
    );
    let out = run(dir.path(), &["scan", "noise.bin"]);
    expect_exit(&out, 0);
    let (_g, out) = staged(&files);
    expect_exit(&out, 1);
    assert_eq!(found(&out).len(), 3);
}

/// bb-scan-s7 N6: `--baseline-write` recorded a baseline from a scan that could not look at
/// everything (text encoded deeper than `--max-decode-depth`; a path that does not exist) and
/// exited 0, so later scans would take what it missed for accepted. It refuses: exit 2, one
/// line naming the file and the reason, nothing written; `--allow-incomplete` records anyway.
#[test]
fn a_baseline_is_never_written_from_an_incomplete_scan() {
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 3801);
    let mut deep = gh.clone();
    for _ in 0..5 {
        deep = base64::engine::general_purpose::STANDARD.encode(deep);
    }
    let dir = TempDir::new().unwrap();
    write(dir.path(), "deep.txt", format!("{deep}\n"));
    for args in [
        vec!["scan", "deep.txt", "--baseline-write", "b.json"],
        vec!["scan", "missing", "--baseline-write", "b.json"],
    ] {
        let out = run(dir.path(), &args);
        expect_exit(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        // A missing path is refused before anything is read; an incomplete scan after it.
        let line = err
            .lines()
            .find(|l| l.contains("baseline not written") || l.contains("missing: cannot scan"))
            .unwrap_or_else(|| panic!("{args:?}: {err}"));
        assert!(
            line.contains("missing") || (line.contains("b.json") && line.contains("incomplete")),
            "{line}"
        );
        assert!(!dir.path().join("b.json").exists(), "{args:?}");
    }
    let out = run(
        dir.path(),
        &[
            "scan",
            "deep.txt",
            "--baseline-write",
            "b.json",
            "--allow-incomplete",
        ],
    );
    expect_exit(&out, 0);
    assert!(dir.path().join("b.json").exists());
}

/// A PEM header quoted in code (a test table of expected headers) far above a real key made the
/// match start there and end inside the key's own header, so the key was never matched (seen
/// on aws-lc's `x509_test.cc` in the benchmark corpus). The key is found at its own header.
#[test]
fn a_quoted_header_above_a_key_does_not_hide_it() {
    let body: Vec<String> = token("«{pem}»", 3901)
        .split('\n')
        .map(str::to_owned)
        .collect();
    let code = "  if (ok) {\n    check(value);\n  }\n".repeat(40);
    let text = format!(
        "const char *kHeaders[] = {{\"-----BEGIN RSA PRIVATE KEY-----\"}};\n{code}static const char kKey[] = R\"(\n-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n)\";\n",
        body.join("\n")
    );
    let dir = TempDir::new().unwrap();
    write(dir.path(), "x509_test.cc", &text);
    let out = run(dir.path(), &["scan", ".", "-f", "json"]);
    expect_exit(&out, 1);
    let line = text
        .lines()
        .position(|l| l == "-----BEGIN PRIVATE KEY-----")
        .unwrap() as u64
        + 1;
    assert_eq!(
        triples(&json(&out)),
        vec![("x509_test.cc".to_owned(), "private-key".to_owned(), line)]
    );
}

/// Tester helper-123 (session 20): JSON kept in a JSON string (`{"body":"{\"password\":\"…\"}"}`,
/// the shape of a Kubernetes last-applied annotation) hid a generic assignment from `vigil
/// scan`, which `vigil redact` found; and two Discord tokens with nothing between them were one
/// finding, `vigil redact` leaving the second one's signature in clear.
#[test]
fn escaped_json_and_glued_discord_tokens_are_found() {
    let pass = token("«{alnum:24}»", 3301);
    let a = token("«{b64digits:18}.{b64url:6}.{b64url:30}»", 3302);
    let b = token("«{b64digits:18}.{b64url:6}.{b64url:31}»", 3303);
    // Tester helper-124: a Discord token glued before a GitHub or AWS one hid the other
    // (the overlap kept one finding), and an AWS key glued to more of its alphabet was missed.
    let gh = token("«ghp_{alnum:30}{ghcrc}»", 3304);
    let aws = token("«AKIA{upper32:16}»", 3305);
    let aws2 = token("«AKIA{upper32:16}»", 3306);
    let body = format!(
        "{{\"body\":\"{{\\\"password\\\":\\\"{pass}\\\"}}\"}}\n{a}{b}\n{a}{gh}\n{b}{aws}\nkey {aws2}QWERTY\n"
    );
    let dir = TempDir::new().unwrap();
    write(dir.path(), "k8s.json", &body);
    let out = run(dir.path(), &["scan", ".", "-f", "json", "--show-secrets"]);
    expect_exit(&out, 1);
    let mut want = vec![
        (
            "k8s.json".to_owned(),
            "generic-api-key".to_owned(),
            1,
            pass.clone(),
        ),
        (
            "k8s.json".to_owned(),
            "discord-bot-token".to_owned(),
            2,
            a.clone(),
        ),
        (
            "k8s.json".to_owned(),
            "discord-bot-token".to_owned(),
            2,
            b.clone(),
        ),
        (
            "k8s.json".to_owned(),
            "discord-bot-token".to_owned(),
            3,
            a.clone(),
        ),
        (
            "k8s.json".to_owned(),
            "github-pat".to_owned(),
            3,
            gh.clone(),
        ),
        (
            "k8s.json".to_owned(),
            "discord-bot-token".to_owned(),
            4,
            b.clone(),
        ),
        (
            "k8s.json".to_owned(),
            "aws-access-token".to_owned(),
            4,
            aws.clone(),
        ),
        (
            "k8s.json".to_owned(),
            "aws-access-token".to_owned(),
            5,
            aws2.clone(),
        ),
    ];
    want.sort();
    assert_eq!(found(&out), want);
    let out = vigil(dir.path())
        .args(["redact"])
        .write_stdin(body.clone())
        .output()
        .unwrap();
    expect_exit(&out, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    for s in [&pass, &a, &b, &gh, &aws, &aws2] {
        let tail = &s[s.len() - 12..];
        assert!(!text.contains(tail), "a secret's end survived: {text}");
    }
}

/// Tester F4 (session 21): a Kubernetes name/value pair kept in a JSON string, its line break a
/// `\n` escape (a log line quoting a manifest), is found as the pair it is, in a file and
/// staged.
#[test]
fn a_pair_behind_an_escaped_line_break_is_found() {
    let pw = token("«{alnum:20}»", 12);
    let line = format!("{{\"msg\":\"- name: DB_PASSWORD\\n  value: \\\"{pw}\\\"\\n\"}}\n");
    let d = TempDir::new().unwrap();
    write(d.path(), "app.jsonl", &line);
    let out = run(d.path(), &["scan", "-f", "json", "--show-secrets"]);
    expect_exit(&out, 1);
    let want = vec![(
        "app.jsonl".to_owned(),
        "name-value-secret".to_owned(),
        1,
        pw.clone(),
    )];
    assert_eq!(found(&out), want);
    let (_g, out) = staged(&[("app.jsonl", line.into_bytes())]);
    assert_eq!(found(&out), want);
}
