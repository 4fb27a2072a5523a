//! `vigil redact [FILE...]`: copy stdin (or files) to stdout with every secret replaced by
//! `[REDACTED:<rule>]`, flushing whenever the input goes idle, so `bot 2>&1 | vigil redact`
//! shows each line as it comes and never a secret.

use crate::cli::GlobalArgs;
use anyhow::Context as _;
use clap::Args;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use vigil_core::{ExitStatus, Secret};
use vigil_scan::redact::{LineStream, RedactOptions, Redactor, MIN_LITERAL};
use vigil_scan::settings::RulesFrom;
use vigil_scan::{ConfigSource, ScanFlags, ScanSettings};

/// Arguments of `vigil redact`.
#[derive(Debug, Args)]
pub(crate) struct RedactArgs {
    /// Files to read in order; `-` is stdin [default: stdin].
    pub files: Vec<PathBuf>,
    /// Also replace the values of this .env file's secrets wherever they appear, also encoded
    /// (variables named like secrets, values with URL credentials or random-looking values;
    /// values shorter than 8 characters are kept).
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Also replace the values of these environment variables (comma-separated names; each
    /// must be set, values shorter than 8 characters are kept).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub from_env: Vec<String>,
    /// Keep JSON lines valid JSON (secrets inside escaped strings are found too).
    #[arg(long)]
    pub json: bool,
    /// Also mask e-mail addresses, phone numbers, IP addresses and Discord mention ids, each
    /// with a pseudonym stable for the run (`email#1`, `ip#2`, `<@user#3>`).
    #[arg(long)]
    pub pii: bool,
    /// Decodings to follow one inside the other (base64, hex, percent, escapes); 0 turns
    /// decoding off [default: 3, or `[scan] max_decode_depth`].
    #[arg(long, value_name = "N")]
    pub max_decode_depth: Option<u8>,
}

/// Bytes read from the input at a time.
const CHUNK: usize = 64 << 10;

/// Runs the filter.
pub(crate) fn run(g: &GlobalArgs, args: RedactArgs) -> anyhow::Result<ExitStatus> {
    let config = ConfigSource {
        explicit: g.config.as_deref(),
        sections: super::SECTIONS,
    };
    let flags = ScanFlags {
        max_decode_depth: args.max_decode_depth,
        ..ScanFlags::default()
    };
    let settings = ScanSettings::resolve(config, Path::new("."), &[PathBuf::from("-")], &flags)?;
    let mut literals = Vec::new();
    for file in &args.env_file {
        let doc = vigil_env::envfile::load(file)?;
        for b in doc.bindings() {
            if let Some(v) = &b.value {
                let v = v.trim();
                if v.len() >= MIN_LITERAL && env_value_is_secret(&b.key, v) {
                    literals.push((b.key.clone(), Secret::new(v.to_owned())));
                } else if !v.is_empty() && vigil_env::check::is_secret_name(&b.key) {
                    // A secret-named value too short to replace safely: said, never left in
                    // silence.
                    tracing::warn!(
                        "{}:{}: {} is shorter than {MIN_LITERAL} characters: its value is not redacted (a short value would mask ordinary text); use a longer secret",
                        file.display(),
                        b.line,
                        b.key
                    );
                }
            }
        }
    }
    for name in &args.from_env {
        let name = name.trim();
        let value = std::env::var(name)
            .with_context(|| format!("--from-env {name}: not set in the environment"))?;
        if value.trim().len() < MIN_LITERAL {
            // Named on purpose as a secret: never left in place without a word.
            tracing::warn!(
                "--from-env {name}: its value is shorter than {MIN_LITERAL} characters and is not redacted (a short value would mask ordinary text)"
            );
        }
        literals.push((name.to_owned(), Secret::new(value)));
    }
    let options = RedactOptions {
        literals,
        max_decode_depth: settings.content.max_decode_depth,
        pii: args.pii,
        json: args.json,
    };
    // The built-in rules always apply: a repository's `.gitleaks.toml` (or any configuration)
    // can add rules to a log filter, never take the built-in ones away.
    let builtin = vigil_scan::Ruleset::builtin();
    let rulesets = match settings.rules_from {
        RulesFrom::Builtin => vec![&settings.rules],
        _ => vec![&builtin, &settings.rules],
    };
    let mut stream = LineStream::new(Redactor::new(rulesets, options));

    let (tx, rx) = mpsc::sync_channel::<std::io::Result<Vec<u8>>>(8);
    let files = args.files.clone();
    let reader = std::thread::spawn(move || {
        let send = |r| tx.send(r).is_ok();
        if files.is_empty() {
            pump("stdin", std::io::stdin().lock(), &send);
        } else {
            for f in files {
                if f.as_os_str() == "-" {
                    if !pump("stdin", std::io::stdin().lock(), &send) {
                        return;
                    }
                    continue;
                }
                match std::fs::File::open(&f) {
                    // A folder opens but cannot be read: said with its name, never "Is a
                    // directory" alone.
                    Ok(file) if file.metadata().is_ok_and(|m| m.is_dir()) => {
                        send(Err(std::io::Error::other(format!(
                            "{}: is a folder (redact reads files and stdin)",
                            f.display()
                        ))));
                        return;
                    }
                    Ok(file) => {
                        if !pump(&f.display().to_string(), file, &send) {
                            return;
                        }
                    }
                    Err(e) => {
                        let e = std::io::Error::new(e.kind(), format!("{}: {e}", f.display()));
                        send(Err(e));
                        return;
                    }
                }
            }
        }
    });

    let mut stdout = std::io::stdout().lock();
    let mut out = Vec::with_capacity(2 * CHUNK);
    let mut failed = None;
    loop {
        // Take what is ready; when the input is idle, flush what was written, then wait.
        let next = match rx.try_recv() {
            Ok(r) => Some(r),
            Err(mpsc::TryRecvError::Empty) => {
                stdout.flush()?;
                rx.recv().ok()
            }
            Err(mpsc::TryRecvError::Disconnected) => None,
        };
        match next {
            Some(Ok(chunk)) => stream.push(&chunk, &mut out),
            Some(Err(e)) => {
                failed = Some(e);
                break;
            }
            None => break,
        }
        if !out.is_empty() {
            stdout.write_all(&out)?;
            out.clear();
        }
    }
    // Whatever was read before an error is still written, redacted.
    stream.finish(&mut out);
    stdout.write_all(&out)?;
    stdout.flush()?;
    drop(rx);
    let _ = reader.join();
    let stats = stream.stats();
    // A failed read is one error line (below), not a summary and then the error.
    if !g.quiet && failed.is_none() {
        let by: Vec<String> = stats
            .by_label
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        eprintln!(
            "vigil: redacted {} value(s) in {} line(s){}",
            stats.redacted(),
            stats.lines,
            if by.is_empty() {
                String::new()
            } else {
                format!(" ({})", by.join(", "))
            }
        );
    }
    if stats.decode_budget_exhausted > 0 {
        eprintln!(
            "vigil: {} line(s) held more encoded text than the decoding budget: an encoded secret there may have been missed",
            stats.decode_budget_exhausted
        );
    }
    if let Some(e) = failed {
        return Err(e).context("cannot read the input");
    }
    Ok(ExitStatus::Success)
}

/// Whether a value of an env file is one to mask: its variable is named like a secret
/// (`…TOKEN`, `…SECRET…`, `…PASSWORD…`, `…_KEY`), or it holds URL credentials, or it looks
/// random (64 bits or more by Vigil's estimate); `NODE_ENV=production` or `MODEL=gpt-4o-mini` are
/// left alone, so a log stays readable.
fn env_value_is_secret(name: &str, value: &str) -> bool {
    let url_credentials = value.split_once("://").is_some_and(|(_, rest)| {
        rest.split('/')
            .next()
            .is_some_and(|auth| auth.contains('@'))
    });
    // Names that say what the value is when it is not a secret: only credentials in them count.
    const SETTINGS: &[&str] = &[
        "_URL",
        "_URI",
        "_HOST",
        "_ENDPOINT",
        "_ID",
        "_PATH",
        "_FILE",
        "_DIR",
        "_NAME",
        "_USER",
        "_USERNAME",
        "_PORT",
        "_REGION",
        "_MODEL",
        "_VERSION",
        "_LEVEL",
        "_ENV",
        "_MODE",
    ];
    let upper = name.to_ascii_uppercase();
    let setting = SETTINGS.iter().any(|s| upper.ends_with(s)) || upper == "NODE_ENV";
    vigil_env::check::is_secret_name(name)
        || url_credentials
        || (!setting && vigil_core::strength::estimate_bits(value) >= 64.0)
}

/// Compressed formats by their first bytes, with the tool that prints them as text: a
/// rotated log (`app.log.1.gz`) is refused rather than copied through with its secrets
/// (bb-scan-s9 F10).
const COMPRESSED: &[(&[u8], &str, &str)] = &[
    (&[0x1f, 0x8b], "gzip", "zcat"),
    (b"\xFD7zXZ\x00", "xz", "xzcat"),
    (&[0x28, 0xB5, 0x2F, 0xFD], "zstd", "zstdcat"),
    (b"BZh", "bzip2", "bzcat"),
];

/// The compressed format `head` starts with (`None` when it cannot be one); `Some(None)`
/// while `head` is too short to tell. A bzip2 stream is told by its block magic after `BZh1`
/// to `BZh9`, so a line of text starting with "BZh" is not taken for one.
fn compressed(head: &[u8]) -> Option<Option<(&'static str, &'static str)>> {
    const BZ_BLOCK: &[u8] = b"1AY&SY";
    for &(magic, kind, tool) in COMPRESSED {
        let n = head.len().min(magic.len());
        if head[..n] != magic[..n] {
            continue;
        }
        if head.len() < magic.len() {
            return Some(None);
        }
        if kind != "bzip2" {
            return Some(Some((kind, tool)));
        }
        let rest = &head[3..];
        if !rest.is_empty() && !(b'1'..=b'9').contains(&rest[0]) {
            return None;
        }
        let block = &rest[rest.len().min(1)..];
        let n = block.len().min(BZ_BLOCK.len());
        if block[..n] != BZ_BLOCK[..n] {
            return None;
        }
        return Some((block.len() >= BZ_BLOCK.len()).then_some((kind, tool)));
    }
    None
}

/// Reads `r` (named `name` in errors) in chunks into `send` until the end; false when the
/// receiver has gone or the input was refused (compressed: redacting its bytes would copy
/// the compressed secrets through).
fn pump(name: &str, mut r: impl Read, send: &dyn Fn(std::io::Result<Vec<u8>>) -> bool) -> bool {
    let mut first = true;
    loop {
        let mut buf = vec![0u8; CHUNK];
        let mut n = 0;
        loop {
            match r.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => {
                    n += k;
                    // The first bytes are read until they can be told from a compressed
                    // format's magic (text never waits: its first byte already tells).
                    if !first || !matches!(compressed(&buf[..n]), Some(None)) {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    send(Err(e));
                    return false;
                }
            }
        }
        if n == 0 {
            return true;
        }
        buf.truncate(n);
        if std::mem::take(&mut first) {
            if let Some(Some((kind, tool))) = compressed(&buf) {
                send(Err(std::io::Error::other(format!(
                    "{name}: {kind}-compressed input is not redacted (its secrets would pass through); decompress it first: {tool} {name} | vigil redact"
                ))));
                return false;
            }
        }
        if !send(Ok(buf)) {
            return false;
        }
    }
}
