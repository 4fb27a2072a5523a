//! Structured logs that cannot leak or lie: every formatted line passes through
//! [`crate::redact`] before it reaches its writer, whichever code path logged it and in
//! whichever format, and control characters inside it are escaped, so no field (a token's
//! subject, a header, a path) can end a line and forge the next one.

use std::io::{self, Write};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human text, one line per event.
    #[default]
    Text,
    /// JSON Lines, one object per event.
    Json,
}

/// Wraps a [`MakeWriter`] so that each event is buffered whole, redacted, its control
/// characters escaped, then written once.
#[derive(Debug, Clone)]
pub struct Redacting<M>(pub M);

/// The per-event writer of [`Redacting`]: collects the event, redacts it on drop.
pub struct RedactingWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let clean = crate::redact::redact(&text);
        let clean = escape_controls(&clean);
        let _ = self.inner.write_all(clean.as_bytes());
        let _ = self.inner.flush();
    }
}

/// `line` with every control character but its final newline escaped (`\n`, `\r`, `\t`,
/// `\u{..}`). ESC stays: it starts the colour codes of a terminal's log (and `tracing` already
/// escapes it inside values).
pub fn escape_controls(line: &str) -> std::borrow::Cow<'_, str> {
    let (body, end) = match line.strip_suffix('\n') {
        Some(b) => (b, "\n"),
        None => (line, ""),
    };
    let escaped = |c: char| c.is_control() && c != '\x1b';
    if !body.chars().any(escaped) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 16);
    for c in body.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if escaped(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out.push_str(end);
    std::borrow::Cow::Owned(out)
}

/// `text` (a file name, a path, a line of human output built from them) with every control
/// character escaped, ESC included (`\n`, `\r`, `\t`, `\u{1b}`), and every invisible format
/// character that reorders or hides text ([`is_hidden`]: bidi controls, zero-width marks, line
/// separators, tag characters) as `\u{…}`, so that a name cannot break a line, forge another,
/// reorder one on screen or drive the terminal. For every human output that shows a name.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() || is_hidden(c)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || is_hidden(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `c` is an invisible format character (Unicode category Cf, and the line and
/// paragraph separators): bidi controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069), zero
/// width marks (U+200B–U+200D, U+2060–U+2064, U+FEFF, U+180E), the soft hyphen, interlinear
/// annotation marks, and tag characters (U+E0000–U+E007F).
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{AD}' | '\u{600}'..='\u{605}' | '\u{61C}' | '\u{6DD}' | '\u{70F}' | '\u{890}'..='\u{891}'
        | '\u{8E2}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E007F}')
}

/// Whether `c` renders as nothing or as a blank a reader takes for none: Unicode's
/// Default_Ignorable_Code_Point set (DerivedCoreProperties.txt: U+034F COMBINING GRAPHEME
/// JOINER, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, U+17B4/5, variation selectors…),
/// whatever their general category, and U+2800 BRAILLE PATTERN BLANK and U+1D159 MUSICAL
/// SYMBOL NULL NOTEHEAD, which many fonts draw as nothing.
pub fn renders_blank(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x2800
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D159
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            buf: Vec::with_capacity(256),
        }
    }
}

/// Builds the subscriber Vigil logs through: `VIGIL_LOG` (an `EnvFilter`) or `default_level`,
/// text or JSON, ANSI colour only when asked, every line redacted.
pub fn subscriber<M>(
    format: LogFormat,
    default_level: &str,
    ansi: bool,
    writer: M,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    M: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // The MCP SDK logs whole messages (tool arguments and results: memory content) at debug,
    // and notification payloads and a client's `initialize` params at info: kept at warn
    // unless `VIGIL_LOG` names it.
    let filter = match EnvFilter::try_from_env("VIGIL_LOG") {
        Ok(f) => f,
        Err(_) => EnvFilter::new(default_level)
            .add_directive("rmcp=warn".parse().expect("a valid directive")),
    };
    let w = Redacting(writer);
    match format {
        LogFormat::Text => Box::new(
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(w)
                .with_ansi(ansi)
                .with_target(false)
                .finish(),
        ),
        LogFormat::Json => Box::new(
            tracing_subscriber::fmt()
                .json()
                .with_env_filter(filter)
                .with_writer(w)
                .with_current_span(false)
                .finish(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl Write for Capture {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    #[derive(Debug)]
    #[allow(dead_code)]
    struct Upstream {
        name: String,
        token: Secret<String>,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("upstream refused the request: {0}")]
    struct Refused(String);

    fn log_everything(secret: &str) {
        let holder = Upstream {
            name: "memory".into(),
            token: Secret::from(secret),
        };
        tracing::info!(?holder, "configured");
        tracing::warn!("raw value slipped into a message: {secret}");
        tracing::error!(field = secret, "as a field");
        let err: anyhow_like::Error = Refused(format!("key {secret} rejected")).into();
        tracing::error!("chain: {:#}", err);
        tracing::info!("header Authorization: Bearer {secret}");
    }

    // A tiny stand-in for an error chain built with `source()`, so this crate needs no anyhow.
    mod anyhow_like {
        pub(super) struct Error(pub Box<dyn std::error::Error + Send + Sync>);
        impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
            fn from(e: E) -> Self {
                Error(Box::new(e))
            }
        }
        impl std::fmt::Display for Error {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "request failed: {}", self.0)
            }
        }
    }

    fn run(format: LogFormat) -> String {
        let secret = ["vgl", "-test-", "Q9x2LmP0aZ7rT4wK8sN1"].concat();
        crate::redact::register(&secret);
        let cap = Capture::default();
        let sub = subscriber(format, "info", false, cap.clone());
        tracing::subscriber::with_default(sub, || log_everything(&secret));
        let out = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
        assert!(!out.contains(&secret), "{out}");
        assert!(!out.contains("Q9x2LmP0aZ7rT4wK8sN1"), "{out}");
        assert!(out.contains("configured"), "{out}");
        assert!(out.lines().count() >= 5, "{out}");
        out
    }

    #[test]
    fn control_characters_never_start_a_line() {
        let cap = Capture::default();
        let sub = subscriber(LogFormat::Text, "info", false, cap.clone());
        let sub_name = "eve\r\n2026-01-01T00:00:00Z  INFO forged\u{7}";
        tracing::subscriber::with_default(sub, || {
            tracing::warn!(subject = sub_name, "alert: token of {sub_name} expires");
            tracing::info!("second");
        });
        let out = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(
            out.contains("token of eve\\r\\n2026-01-01T00:00:00Z  INFO forged"),
            "{out}"
        );
        assert!(!out.contains('\u{7}') && !out.contains('\r'), "{out}");
        assert_eq!(escape_controls("plain\n"), "plain\n");
        assert_eq!(printable("a\nb\x1b[31m.env"), "a\\nb\\u{1b}[31m.env");
        assert_eq!(printable("plain"), "plain");
        assert_eq!(
            printable("ab\u{202e}cd\u{200b}\u{61c}\u{feff}"),
            "ab\\u{202e}cd\\u{200b}\\u{61c}\\u{feff}"
        );
        assert_eq!(escape_controls("a\tb"), "a\\tb");
        assert_eq!(
            escape_controls("\x1b[1mbold\x1b[0m\n"),
            "\x1b[1mbold\x1b[0m\n"
        );
    }

    #[test]
    fn registered_secret_never_reaches_text_logs() {
        let out = run(LogFormat::Text);
        assert!(out.contains(crate::redact::MASK));
    }

    #[test]
    fn registered_secret_never_reaches_json_logs_and_lines_stay_json() {
        let out = run(LogFormat::Json);
        for line in out.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("each log line is JSON");
            assert!(v.get("level").is_some());
        }
    }
}
