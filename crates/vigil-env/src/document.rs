//! The lossless document: the file's text plus the spans of each binding's key and value token.
//! Emitting an unedited document gives back the input byte for byte; `set` rewrites only the
//! value token, in the quote style it already had.
//!
//! Lines are read as python-dotenv reads them: optional `export `, a key (`[^=#\s]+` or
//! `'quoted'`), `=`, then a value that is unquoted (to the end of the line, ` #…` comment and
//! trailing space removed), `'single-quoted'` (escapes `\\` `\'`) or `"double-quoted"` (escapes
//! `\\ \' \" \a \b \f \n \r \t \v`); quoted values may span lines. `${VAR}` is kept as written.

use std::fmt;
use std::ops::Range;

/// How a value is quoted in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// `KEY=value`
    None,
    /// `KEY='value'`
    Single,
    /// `KEY="value"`
    Double,
}

/// One `KEY=value` line (or lines, for a multi-line quoted value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The key as read (without quotes).
    pub key: String,
    /// The value as python-dotenv reads it (escapes decoded, no interpolation); `None` for a key
    /// with no `=`.
    pub value: Option<String>,
    /// The value's quoting.
    pub quote: Quote,
    /// Whether the line starts with `export `.
    pub export: bool,
    /// 1-based line where the binding starts.
    pub line: usize,
    /// Bytes of the value token as written (quotes included), in the document text.
    pub value_span: Range<usize>,
}

/// A line that cannot be read. Never quotes the line's content (it may hold a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A parsed `.env` file that re-emits losslessly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    text: String,
    bindings: Vec<Binding>,
}

impl Document {
    /// Parses text. Errors name the line.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            line: 1,
            out: Vec::new(),
        };
        if text.starts_with('\u{feff}') {
            p.i = 3;
        }
        while p.i < p.s.len() {
            p.entry()?;
        }
        Ok(Document {
            text: text.to_owned(),
            bindings: p.out,
        })
    }

    /// Every binding, in file order (duplicates included).
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The value of the last binding of `key` (python-dotenv: last wins).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.bindings
            .iter()
            .rev()
            .find(|b| b.key == key)
            .and_then(|b| b.value.as_deref())
    }

    /// Sets every binding of `key` to `value`, keeping each one's quote style (an unquoted value
    /// that would need quoting becomes single-quoted). Returns how many bindings changed; an
    /// unknown key is an error.
    pub fn set(&mut self, key: &str, value: &str) -> Result<usize, ParseError> {
        let targets: Vec<usize> = (0..self.bindings.len())
            .filter(|&i| self.bindings[i].key == key)
            .collect();
        if targets.is_empty() {
            return Err(ParseError {
                line: 0,
                message: format!("no binding named {key}"),
            });
        }
        for &i in targets.iter().rev() {
            let b = &self.bindings[i];
            let quote = match b.quote {
                Quote::None if !value.is_empty() && !is_bare(value) => Quote::Single,
                q => q,
            };
            let span = b.value_span.clone();
            let mut token = encode(value, quote);
            // `A= # note`: an empty value right before a comment needs a space to stay apart.
            if span.is_empty()
                && matches!(self.text.as_bytes().get(span.end), Some(b) if !b.is_ascii_whitespace())
            {
                token.push(' ');
            }
            let (eq_missing, insert_at) = (b.value.is_none(), span.start);
            let replacement = if eq_missing {
                format!("={token}")
            } else {
                token
            };
            self.text.replace_range(span.clone(), &replacement);
            let delta = replacement.len() as isize - (span.end - span.start) as isize;
            let b = &mut self.bindings[i];
            b.value = Some(value.to_owned());
            b.quote = quote;
            b.value_span = if eq_missing {
                insert_at + 1..insert_at + replacement.len()
            } else {
                span.start..span.start + replacement.len()
            };
            for later in &mut self.bindings[i + 1..] {
                later.value_span = shift(&later.value_span, delta);
            }
        }
        Ok(targets.len())
    }
}

impl Document {
    /// Adds `key=value` on a new line right after the last binding of `anchor`, with the same
    /// `export ` prefix and line ending; every other byte stays. Used to create a `_BACKUP` beside
    /// its `_DEFAULT`.
    pub fn insert_after(&mut self, anchor: &str, key: &str, value: &str) -> Result<(), ParseError> {
        let b = self
            .bindings
            .iter()
            .rev()
            .find(|b| b.key == anchor)
            .ok_or_else(|| ParseError {
                line: 0,
                message: format!("no binding named {anchor}"),
            })?;
        let quote = if is_bare(value) {
            Quote::None
        } else {
            Quote::Single
        };
        let prefix = if b.export { "export " } else { "" };
        let line = format!("{prefix}{key}={}", encode(value, quote));
        let bytes = self.text.as_bytes();
        let mut text = self.text.clone();
        match bytes[b.value_span.end..].iter().position(|&c| c == b'\n') {
            Some(off) => {
                let nl = b.value_span.end + off;
                let eol = if nl > 0 && bytes[nl - 1] == b'\r' {
                    "\r\n"
                } else {
                    "\n"
                };
                text.insert_str(nl + 1, &format!("{line}{eol}"));
            }
            None => {
                let eol = if self.text.contains("\r\n") {
                    "\r\n"
                } else {
                    "\n"
                };
                text.push_str(&format!("{eol}{line}"));
            }
        }
        *self = Document::parse(&text)?;
        Ok(())
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn shift(r: &Range<usize>, d: isize) -> Range<usize> {
    (r.start as isize + d) as usize..(r.end as isize + d) as usize
}

/// A value that needs no quotes in any dialect: no whitespace, quotes, `#`, `$`, `\` or `=`.
fn is_bare(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && !b"'\"#$\\`=".contains(&b))
}

/// The value token for `value` in a quote style.
pub fn encode(value: &str, q: Quote) -> String {
    match q {
        Quote::None => value.to_owned(),
        Quote::Single => format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'")),
        Quote::Double => {
            let mut o = String::from("\"");
            for c in value.chars() {
                match c {
                    '\\' => o.push_str("\\\\"),
                    '"' => o.push_str("\\\""),
                    '\n' => o.push_str("\\n"),
                    '\r' => o.push_str("\\r"),
                    '\t' => o.push_str("\\t"),
                    c => o.push(c),
                }
            }
            o.push('"');
            o
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    line: usize,
    out: Vec<Binding>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn err(&self, message: &str) -> ParseError {
        ParseError {
            line: self.line,
            message: message.to_owned(),
        }
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\x0b' | b'\x0c')) {
            self.i += 1;
        }
    }

    /// Consumes the rest of the line including its end (`\n`, `\r\n`, lone `\r`, or EOF).
    fn eol(&mut self) {
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'\n' => break,
                b'\r' => {
                    if self.peek() == Some(b'\n') {
                        self.i += 1;
                    }
                    break;
                }
                _ => {}
            }
        }
        self.line += 1;
    }

    fn at_eol(&self) -> bool {
        matches!(self.peek(), None | Some(b'\n' | b'\r'))
    }

    fn entry(&mut self) -> Result<(), ParseError> {
        self.skip_blanks();
        if self.at_eol() || self.peek() == Some(b'#') {
            self.eol();
            return Ok(());
        }
        let start_line = self.line;
        let mut export = false;
        if self.s[self.i..].starts_with(b"export")
            && matches!(self.s.get(self.i + 6), Some(b' ' | b'\t'))
        {
            export = true;
            self.i += 6;
            self.skip_blanks();
        }
        let key = if self.peek() == Some(b'\'') {
            self.i += 1;
            let st = self.i;
            while !matches!(self.peek(), None | Some(b'\'' | b'\n' | b'\r')) {
                self.i += 1;
            }
            if self.peek() != Some(b'\'') {
                return Err(self.err("unterminated quoted key"));
            }
            let k = &self.s[st..self.i];
            self.i += 1;
            k
        } else {
            let st = self.i;
            while !matches!(
                self.peek(),
                None | Some(b'=' | b'#' | b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
            ) {
                self.i += 1;
            }
            &self.s[st..self.i]
        };
        if key.is_empty() {
            return Err(self.err("expected a key before `=`"));
        }
        let key = String::from_utf8_lossy(key).into_owned();
        // python-dotenv reads any Unicode space as one (`KEY<U+00A0>=x` binds `KEY`); this reader
        // would keep it in the key, so the two would disagree on what the file binds (tester
        // 159: a second `MCP_JWT_SECRET` only Python saw). Refused, not guessed.
        // Python's `\s` also takes U+001C–U+001F: every control character is refused (review).
        if key
            .chars()
            .any(|c| (c.is_whitespace() && !c.is_ascii()) || c.is_control())
        {
            return Err(self.err(
                "the key holds a Unicode space (such as U+00A0): loaders disagree on where it ends; write it in plain ASCII",
            ));
        }
        self.skip_blanks();
        if self.peek() != Some(b'=') {
            // A key with no `=`: present but unset (python-dotenv gives None).
            let at = self.i;
            self.skip_blanks();
            if self.peek() == Some(b'#') || self.at_eol() {
                self.out.push(Binding {
                    key,
                    value: None,
                    quote: Quote::None,
                    export,
                    line: start_line,
                    value_span: at..at,
                });
                self.eol();
                return Ok(());
            }
            return Err(self.err("expected `=` after the key"));
        }
        self.i += 1;
        self.skip_blanks();
        let vstart = self.i;
        let (value, quote) = match self.peek() {
            Some(q @ (b'\'' | b'"')) => {
                self.i += 1;
                let mut raw = Vec::new();
                loop {
                    match self.peek() {
                        None => {
                            return Err(ParseError {
                                line: start_line,
                                message: "unterminated quoted value".into(),
                            })
                        }
                        Some(b'\\') if self.s.get(self.i + 1).is_some() => {
                            raw.push(b'\\');
                            raw.push(self.s[self.i + 1]);
                            self.i += 2;
                        }
                        Some(b) if b == q => {
                            self.i += 1;
                            break;
                        }
                        Some(b) => {
                            if b == b'\n' || (b == b'\r' && self.s.get(self.i + 1) != Some(&b'\n'))
                            {
                                self.line += 1;
                            }
                            raw.push(b);
                            self.i += 1;
                        }
                    }
                }
                let raw = String::from_utf8_lossy(&raw).into_owned();
                if q == b'\'' {
                    (decode_single(&raw), Quote::Single)
                } else {
                    (decode_double(&raw), Quote::Double)
                }
            }
            _ => {
                let st = self.i;
                while !self.at_eol() {
                    self.i += 1;
                }
                let line = &self.s[st..self.i];
                // Strip a comment that follows whitespace, then trailing whitespace.
                let mut end = line.len();
                for j in 1..line.len() {
                    if line[j] == b'#' && matches!(line[j - 1], b' ' | b'\t') {
                        end = j;
                        break;
                    }
                }
                while end > 0 && matches!(line[end - 1], b' ' | b'\t' | b'\x0b' | b'\x0c') {
                    end -= 1;
                }
                if line.first() == Some(&b'#') {
                    end = 0;
                }
                self.i = st + end;
                (
                    String::from_utf8_lossy(&line[..end]).into_owned(),
                    Quote::None,
                )
            }
        };
        let vend = self.i;
        self.skip_blanks();
        if !(self.at_eol() || self.peek() == Some(b'#')) {
            return Err(self.err("unexpected text after the value"));
        }
        self.out.push(Binding {
            key,
            value: Some(value),
            quote,
            export,
            line: start_line,
            value_span: vstart..vend,
        });
        self.eol();
        Ok(())
    }
}

fn decode_single(raw: &str) -> String {
    let mut o = String::with_capacity(raw.len());
    let mut it = raw.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' && matches!(it.peek(), Some('\\' | '\'')) {
            o.push(it.next().expect("peeked"));
        } else {
            o.push(c);
        }
    }
    o
}

fn decode_double(raw: &str) -> String {
    let mut o = String::with_capacity(raw.len());
    let mut it = raw.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            o.push(c);
            continue;
        }
        let decoded = match it.peek() {
            Some('\\') => '\\',
            Some('\'') => '\'',
            Some('"') => '"',
            Some('a') => '\x07',
            Some('b') => '\x08',
            Some('f') => '\x0c',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('v') => '\x0b',
            _ => {
                o.push('\\');
                continue;
            }
        };
        it.next();
        o.push(decoded);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_python_dotenv_reads() {
        let t = "\u{feff}# c\n\nexport A=1\nB = two words  # note\nC='it\\'s'\nD=\"x\\ny\"\nE=\"multi\nline\"\nF\nG=a#b\nH=\nI=${A}/x\r\nJ='q' # after";
        let d = Document::parse(t).unwrap();
        let kv: Vec<(&str, Option<&str>)> = d
            .bindings()
            .iter()
            .map(|b| (b.key.as_str(), b.value.as_deref()))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("A", Some("1")),
                ("B", Some("two words")),
                ("C", Some("it's")),
                ("D", Some("x\ny")),
                ("E", Some("multi\nline")),
                ("F", None),
                ("G", Some("a#b")),
                ("H", Some("")),
                ("I", Some("${A}/x")),
                ("J", Some("q")),
            ]
        );
        assert!(d.bindings()[0].export);
        assert_eq!(d.bindings()[5].line, 9);
        assert_eq!(d.to_string(), t);
    }

    #[test]
    fn errors_name_the_line_and_never_the_value() {
        let e = Document::parse("A=1\nB=\"never closed s3cr3t\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(!e.to_string().contains("s3cr3t"));
        let e = Document::parse("A=1\n\nB='x' trailing-s3cr3t\n").unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (3, "unexpected text after the value")
        );
        assert!(!e.to_string().contains("s3cr3t"));
        // Tester 159: a key python-dotenv ends at a Unicode space is refused, not kept whole.
        for text in [
            "K=1\nK\u{a0}=s3cr3t\n",
            "K=1\n\u{2003}K=s3cr3t\n",
            "K\u{3000}X=1\n",
        ] {
            let e = Document::parse(text).unwrap_err();
            assert!(e.message.contains("Unicode space"), "{text:?}: {e}");
            assert!(!e.to_string().contains("s3cr3t"));
        }
    }

    #[test]
    fn set_keeps_quote_style_export_comment_and_line_endings() {
        let t = "export A='old' # keep\r\nB=\"old\"\nC=old\nA=old2";
        let mut d = Document::parse(t).unwrap();
        assert_eq!(d.set("A", "N3w").unwrap(), 2);
        let mut e = Document::parse("A= # note\nB\n").unwrap();
        e.set("A", "x1").unwrap();
        e.set("B", "y2").unwrap();
        assert_eq!(e.to_string(), "A= x1 # note\nB=y2\n");
        d.set("B", "q\"uote").unwrap();
        d.set("C", "has space").unwrap();
        assert_eq!(
            d.to_string(),
            "export A='N3w' # keep\r\nB=\"q\\\"uote\"\nC='has space'\nA=N3w"
        );
        let again = Document::parse(&d.to_string()).unwrap();
        assert_eq!(again.get("B"), Some("q\"uote"));
        assert_eq!(again.get("C"), Some("has space"));
        assert!(d.set("MISSING", "x").is_err());
    }
}
