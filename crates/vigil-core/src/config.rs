//! `vigil.toml`: one file, a section per command. Errors name the file, the line and the key;
//! `${VAR}` in a value reads the environment, only in the section a command reads and only when
//! it reads it (after its `--env-file`s), so an unset variable of one command never breaks
//! another; no error ever quotes a value.

use crate::origin::Origin;
use serde::de::DeserializeOwned;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The file name looked for in the working directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "vigil.toml";

/// Subtrees whose strings are patterns, not settings: `${...}` there is regex, not a variable.
const NO_EXPANSION: &[&str] = &["scan.rules", "scan.allowlist", "scan.allowlists"];

/// A configuration problem, always with the file and, where it has one, the line and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why (shown in the message, not chained, so it is said once).
        error: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What the parser said.
        message: String,
    },
    /// A key is unknown or has the wrong type. Shown `FILE:LINE: KEY: MESSAGE`, or, for a key
    /// named like a credential (`env.tokens`, `token.secret_env`), `FILE:LINE: MESSAGE (key
    /// KEY)`, so that the log redactor never reads the message as the key's value.
    #[error("{}", key_line(path, *line, key, message))]
    Key {
        /// The file.
        path: PathBuf,
        /// 1-based line of the key (or of its value).
        line: usize,
        /// Dotted key path, e.g. `scan.max_file_size`.
        key: String,
        /// What is wrong, never quoting the value.
        message: String,
    },
    /// A `${VAR}` in the value of `key` names a variable that is not set. The variable comes
    /// first and the key last, so no credential-shaped `key: …` pair forms for the redactor.
    #[error("{path}:{line}: environment variable {var} is not set (used by {key})")]
    UnsetVariable {
        /// The file.
        path: PathBuf,
        /// 1-based line of the value.
        line: usize,
        /// Dotted key path, e.g. `gateway.routes[0].headers.Authorization`.
        key: String,
        /// The variable's name.
        var: String,
    },
}

fn key_line(path: &Path, line: usize, key: &str, message: &str) -> String {
    if crate::redact::is_credential_name(key) {
        format!("{}:{line}: {message} (key {key})", path.display())
    } else {
        format!("{}:{line}: {key}: {message}", path.display())
    }
}

/// gitleaks's top-level tables, which `vigil.toml` keeps under `[scan]`.
const GITLEAKS_TABLES: &[&str] = &[
    "rules",
    "allowlist",
    "allowlists",
    "extend",
    "title",
    "description",
];

impl ConfigError {
    /// Where the problem is: the file's key and line, when the error names one.
    pub fn origin(&self) -> Option<Origin> {
        match self {
            ConfigError::Key {
                path, line, key, ..
            }
            | ConfigError::UnsetVariable {
                path, line, key, ..
            } => Some(Origin::ConfigKey {
                path: path.clone(),
                line: Some(*line).filter(|l| *l > 0),
                key: key.clone(),
            }),
            ConfigError::Io { .. } | ConfigError::Syntax { .. } => None,
        }
    }
}

/// A `vigil.toml` section a library owns: its typed form (`deny_unknown_fields`) and its table
/// name. Each crate registers its own (`vigil_env::EnvSection`, `vigil_token::TokenSection`);
/// the binary lists the registered names for [`Config::check_sections`].
pub trait Section: DeserializeOwned + Default {
    /// The top-level table (`env`, `token`).
    const NAME: &'static str;
}

/// A loaded `vigil.toml`: its text, its spans, and its values as written (`${VAR}` is expanded
/// per section, by [`Config::section`] and [`Config::section_with`]).
#[derive(Debug, Clone)]
pub struct Config {
    path: PathBuf,
    text: String,
    doc: toml_edit::ImDocument<String>,
    table: toml::Table,
}

impl Config {
    /// An empty configuration (no file), as if `vigil.toml` were empty.
    pub fn empty() -> Self {
        Self::parse(PathBuf::from(DEFAULT_FILE), String::new()).expect("the empty document parses")
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::parse(path.to_owned(), read(path)?)
    }

    /// Reads and parses a file of patterns (a `.gitleaks.toml`): no `${VAR}` expansion, since
    /// `${` there is regex.
    pub fn parse_patterns(path: &Path) -> Result<Self, ConfigError> {
        Self::parse_with(path.to_owned(), read(path)?)
    }

    /// Deserializes the whole document as written, without `${VAR}` expansion (for files that
    /// are one section of patterns, like `.gitleaks.toml`).
    pub fn root<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.deserialize(self.root_value(), "")
    }

    /// The whole document as written, without `${VAR}` expansion.
    pub fn root_value(&self) -> toml::Value {
        toml::Value::Table(self.table.clone())
    }

    /// An empty configuration whose relative paths start from the folder of `path` (a
    /// `vigil.toml` that does not exist), as if that file were empty.
    pub fn empty_at(path: PathBuf) -> Self {
        Self::parse(path, String::new()).expect("the empty document parses")
    }

    /// Finds the project's configuration, as most tools do: `explicit` when given; else the
    /// nearest `vigil.toml` in `dir` or one of its parent folders, up to and including the top
    /// level of the git work tree `dir` is in (the nearest folder holding `.git`); else an empty
    /// configuration whose folder is that top level (or `dir` outside git). The project root is
    /// the folder of the configuration ([`Config::base_dir`]); paths are shown relative to `dir`
    /// (`vigil.toml`, `../../vigil.toml`).
    pub fn discover_project(explicit: Option<&Path>, dir: &Path) -> Result<Self, ConfigError> {
        if explicit.is_some() {
            return Self::discover(explicit, dir);
        }
        let Ok(start) = std::fs::canonicalize(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        }) else {
            return Self::discover(None, dir);
        };
        let here = dir.as_os_str().is_empty() || dir == Path::new(".");
        let mut rel = if here { PathBuf::new() } else { dir.to_owned() };
        for ancestor in start.ancestors() {
            let candidate = ancestor.join(DEFAULT_FILE);
            if candidate.is_file() {
                return Self::load(&rel.join(DEFAULT_FILE));
            }
            if std::fs::symlink_metadata(ancestor.join(".git")).is_ok() {
                return Ok(Self::empty_at(rel.join(DEFAULT_FILE)));
            }
            rel.push("..");
        }
        Self::discover(None, dir)
    }

    /// Finds the configuration: the explicit path if given, else `vigil.toml` in `dir` if present,
    /// else an empty configuration.
    pub fn discover(explicit: Option<&Path>, dir: &Path) -> Result<Self, ConfigError> {
        match explicit {
            Some(p) => Self::load(p),
            None => {
                // `vigil.toml`, not `./vigil.toml`, in messages when `dir` is the working directory.
                let p = if dir.as_os_str().is_empty() || dir == Path::new(".") {
                    PathBuf::from(DEFAULT_FILE)
                } else {
                    dir.join(DEFAULT_FILE)
                };
                if p.is_file() {
                    Self::load(&p)
                } else {
                    Ok(Self::empty())
                }
            }
        }
    }

    /// Parses text that came from `path`. `${VAR}` stays as written until a section is read.
    pub fn parse(path: PathBuf, text: String) -> Result<Self, ConfigError> {
        Self::parse_with(path, text)
    }

    fn parse_with(path: PathBuf, text: String) -> Result<Self, ConfigError> {
        let syntax = |span: Option<Range<usize>>, message: &str| ConfigError::Syntax {
            line: line_of(&text, span.map_or(0, |r| r.start)),
            path: path.clone(),
            message: message.trim().to_owned(),
        };
        let doc = toml_edit::ImDocument::parse(text.clone())
            .map_err(|e| syntax(e.span(), e.message()))?;
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| syntax(e.span(), e.message()))?;
        Ok(Config {
            path,
            text,
            doc,
            table,
        })
    }

    /// The file this configuration came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rejects top-level sections no command knows, naming the line of the first one.
    pub fn check_sections(&self, known: &[&str]) -> Result<(), ConfigError> {
        for key in self.table.keys() {
            if GITLEAKS_TABLES.contains(&key.as_str()) && !known.contains(&key.as_str()) {
                return Err(self.key_error(
                    key,
                    &format!("a gitleaks table: in vigil.toml rules and allowlists go under [scan] ([[scan.rules]], [scan.allowlist], [scan.extend]; [[scan.rules.required]] composite rules are read but not enforced yet), or keep them in a .gitleaks.toml (known sections: {})", known.join(", ")),
                ));
            }
            if !known.contains(&key.as_str()) {
                return Err(self.key_error(
                    key,
                    &format!("unknown section (known: {})", known.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// The top-level keys, in file order.
    pub fn keys(&self) -> Vec<&str> {
        self.table.keys().map(String::as_str).collect()
    }

    /// Whether a top-level section is present.
    pub fn has_section(&self, name: &str) -> bool {
        self.table.contains_key(name)
    }

    /// Deserializes one section into its typed form (`T` should `deny_unknown_fields`), with
    /// `${VAR}` read from the process environment. A missing section gives `T::default()`.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, ConfigError> {
        self.section_with(name, &|var| std::env::var(var).ok())
    }

    /// [`Config::section`] with `${VAR}` read through `lookup` (e.g. `--env-file`s, then the
    /// process environment).
    pub fn section_with<T: DeserializeOwned + Default>(
        &self,
        name: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<T, ConfigError> {
        match self.section_value(name, lookup)? {
            Some(value) => self.deserialize(value, name),
            None => Ok(T::default()),
        }
    }

    /// One section's value with `${VAR}` expanded through `lookup` (pattern subtrees such as
    /// `scan.rules` excepted), or `None` when the section is absent.
    pub fn section_value(
        &self,
        name: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<toml::Value>, ConfigError> {
        let Some(value) = self.table.get(name) else {
            return Ok(None);
        };
        let mut value = value.clone();
        self.expand(&mut value, name, lookup)?;
        Ok(Some(value))
    }

    /// Deserializes `value`, the value at dotted key `name` of this file, naming the file, line
    /// and key of the first problem.
    pub fn deserialize<T: DeserializeOwned>(
        &self,
        value: toml::Value,
        name: &str,
    ) -> Result<T, ConfigError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let mut key = name.to_owned();
            for seg in e.path().iter() {
                match seg {
                    serde_path_to_error::Segment::Seq { index } => {
                        key.push_str(&format!("[{index}]"))
                    }
                    serde_path_to_error::Segment::Map { key: k } => {
                        if !key.is_empty() {
                            key.push('.');
                        }
                        key.push_str(k);
                    }
                    _ => {}
                }
            }
            self.key_error(&key, &sanitize(&e.inner().to_string()))
        })
    }

    /// A section a library registered ([`Section`]), `${VAR}` read through `lookup`.
    pub fn read<T: Section>(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<T, ConfigError> {
        self.section_with(T::NAME, lookup)
    }

    /// Where `key` (dotted, with `[i]` indices) is: this file and the key's line.
    pub fn origin(&self, key: &str) -> crate::Origin {
        crate::Origin::ConfigKey {
            path: self.path.clone(),
            line: Some(self.line_of_key(key)),
            key: key.to_owned(),
        }
    }

    /// The folder relative paths of this file start from (`""` for the working directory).
    pub fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }

    /// An error for `key` (dotted, with `[i]` indices), pointing at the key's line in the file.
    /// A key segment shaped like a credential (a token pasted where a key goes) is named by
    /// its length, in the key and in the message, never in clear.
    pub fn key_error(&self, key: &str, message: &str) -> ConfigError {
        let segs: Vec<&str> = key.split('.').collect();
        let name = |seg: &str| seg.split('[').next().unwrap_or(seg).to_owned();
        let (shown, message) = match segs.iter().position(|seg| secret_shaped(&name(seg))) {
            None => (key.to_owned(), message.to_owned()),
            Some(i) => {
                // From the first such segment on, the key is no setting's path (a quoted token
                // holds dots): the rest is named by its length as one piece.
                let rest = segs[i..].join(".");
                let stand_in = format!("<key of {} random-looking characters>", rest.len());
                let mut message = message.replace(&rest, &stand_in);
                for seg in &segs[i..] {
                    let n = name(seg);
                    if n.len() >= 6 {
                        message = message.replace(&n, &stand_in);
                    }
                }
                let mut shown: Vec<String> = segs[..i].iter().map(|s| (*s).to_owned()).collect();
                shown.push(stand_in);
                (shown.join("."), message)
            }
        };
        ConfigError::Key {
            path: self.path.clone(),
            line: self.line_of_key(key),
            key: shown,
            message,
        }
    }

    /// The 1-based line where `key` (or its nearest present ancestor) is written.
    pub fn line_of_key(&self, key: &str) -> usize {
        let mut item: &toml_edit::Item = self.doc.as_item();
        let mut best = 0;
        for seg in split_key(key) {
            let next = match seg {
                Seg::Key(k) => item.get(k),
                Seg::Index(i) => item.get(i),
            };
            let Some(next) = next else { break };
            item = next;
            if let Some(span) = item.span() {
                best = span.start;
            }
        }
        if best == 0 {
            // Fall back to a textual search for the last key segment.
            if let Some(last) = key.rsplit('.').next() {
                let bare = last.split('[').next().unwrap_or(last);
                if let Some(pos) = self
                    .text
                    .find(&format!("{bare} ="))
                    .or_else(|| self.text.find(bare))
                {
                    best = pos;
                }
            }
        }
        line_of(&self.text, best)
    }

    fn expand(
        &self,
        v: &mut toml::Value,
        key: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if NO_EXPANSION.iter().any(|p| {
            key == *p || key.starts_with(&format!("{p}.")) || key.starts_with(&format!("{p}["))
        }) {
            return Ok(());
        }
        match v {
            toml::Value::String(s) => {
                if let Some(new) =
                    expand_with(s, lookup).map_err(|unset| ConfigError::UnsetVariable {
                        path: self.path.clone(),
                        line: self.line_of_key(key),
                        key: key.to_owned(),
                        var: unset.name,
                    })?
                {
                    *s = new;
                }
            }
            toml::Value::Array(a) => {
                for (i, x) in a.iter_mut().enumerate() {
                    self.expand(x, &format!("{key}[{i}]"), lookup)?;
                }
            }
            toml::Value::Table(t) => {
                for (k, x) in t.iter_mut() {
                    self.expand(x, &format!("{key}.{k}"), lookup)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The largest configuration file read (a `vigil.toml`, a `.gitleaks.toml` or what its
/// `[extend] path` names): far above any real one, far below what exhausts memory.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Reads a configuration file: a regular file (a FIFO or `/dev/zero` named by a committed
/// `[extend] path` would hang or exhaust memory) of at most [`MAX_CONFIG_BYTES`].
fn read(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read as _;
    let io = |error: std::io::Error| ConfigError::Io {
        path: path.to_owned(),
        error,
    };
    // Checked before opening: opening a FIFO waits for a writer.
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB", MAX_CONFIG_BYTES >> 20),
        )));
    }
    Ok(text)
}

/// A `${NAME}` whose variable is not set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name} is not set")]
pub struct UnsetVariable {
    /// The variable's name.
    pub name: String,
}

/// Replaces `${NAME}` with the environment variable's value. `\${` stays literal. Returns
/// `Ok(None)` when nothing was replaced.
pub fn expand_env(s: &str) -> Result<Option<String>, UnsetVariable> {
    expand_with(s, &|var| std::env::var(var).ok())
}

/// [`expand_env`] with variables read through `lookup`.
pub fn expand_with(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, UnsetVariable> {
    if !s.contains("${") {
        return Ok(None);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(pos) = rest.find("${") {
        let escaped = pos > 0 && rest.as_bytes()[pos - 1] == b'\\';
        let after = &rest[pos + 2..];
        let end = after.find('}');
        let name = end.map(|e| &after[..e]);
        match name {
            Some(n) if !escaped && is_var_name(n) => {
                out.push_str(&rest[..pos]);
                let val = lookup(n).ok_or_else(|| UnsetVariable { name: n.to_owned() })?;
                out.push_str(&val);
                rest = &after[n.len() + 1..];
                changed = true;
            }
            _ => {
                out.push_str(&rest[..pos + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(changed.then_some(out))
}

fn is_var_name(n: &str) -> bool {
    let mut c = n.chars();
    matches!(c.next(), Some(ch) if ch == '_' || ch.is_ascii_alphabetic())
        && c.all(|ch| ch == '_' || ch.is_ascii_alphanumeric())
}

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn split_key(key: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let mut it = part.split('[');
        if let Some(k) = it.next() {
            if !k.is_empty() {
                out.push(Seg::Key(k));
            }
        }
        for idx in it {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Seg::Index(i));
            }
        }
    }
    out
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Whether a key is shaped like a credential rather than a name: a piece (between `_`, `-`
/// and `.`) of 16 or more characters mixing letters and digits, which no setting's name has
/// and a pasted token (`ghp_…`, `AKIA…`, a hex or base64 key) does.
fn secret_shaped(name: &str) -> bool {
    name.split(['_', '-', '.']).any(|piece| {
        piece.len() >= 16
            && piece.bytes().any(|b| b.is_ascii_alphabetic())
            && piece.bytes().any(|b| b.is_ascii_digit())
    })
}

/// Serde's messages quote the offending value (`invalid type: string "hunter2"`); keep only
/// what was expected, so a misplaced secret is never echoed.
fn sanitize(msg: &str) -> String {
    if let Some(rest) = msg
        .strip_prefix("invalid type: ")
        .or_else(|| msg.strip_prefix("invalid value: "))
    {
        let kind = rest.split([' ', ',']).next().unwrap_or("value");
        let expected = rest.split(", expected ").nth(1).unwrap_or("another type");
        return format!("wrong type ({kind}), expected {expected}");
    }
    if msg.starts_with("unknown field") {
        return msg.to_owned();
    }
    if msg.starts_with("unknown variant") {
        let expected = msg.split(", expected ").nth(1).unwrap_or("a known value");
        return format!("unknown value, expected {expected}");
    }
    msg.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Scan {
        max_file_size: u64,
        format: Option<String>,
        paths: Vec<String>,
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(PathBuf::from("vigil.toml"), text.to_owned())
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let c = parse("# top\n[scan]\nmax_file_size = 10\nmax_size = 5\n").unwrap();
        let e = c.section::<Scan>("scan").unwrap_err().to_string();
        assert!(
            e.starts_with("vigil.toml:4: scan.max_size: unknown field `max_size`"),
            "{e}"
        );
    }

    #[test]
    fn a_key_shaped_like_a_token_is_named_by_its_length() {
        // Built at run time: the repository holds no token-shaped text.
        let token: String = ["ghp", "_", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"].concat();
        let c = parse(&format!("[scan]\nmax_file_size = 1\n{token} = \"x\"\n")).unwrap();
        let e = c.section::<Scan>("scan").unwrap_err().to_string();
        assert!(!e.contains(&token[4..]), "{e}");
        assert!(
            e.starts_with(
                "vigil.toml:3: scan.<key of 40 random-looking characters>: unknown field"
            ),
            "{e}"
        );
        // A quoted token holding dots is one piece, none of its segments shown.
        let discord: String = [
            "MTIzNDU2Nzg5MDEyMzQ1Njc4",
            "GhX2Qa",
            "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1",
        ]
        .join(".");
        let c = parse(&format!("[scan]\n\"{discord}\" = 1\n")).unwrap();
        let e = c.section::<Scan>("scan").unwrap_err().to_string();
        assert!(!e.contains("GhX2Qa") && !e.contains("MTIzNDU2"), "{e}");
        assert!(
            e.contains("scan.<key of 62 random-looking characters>"),
            "{e}"
        );
        // Setting names are shown as they are.
        let c = parse("[scan]\nmax_file_size_in_bytes = 1\n").unwrap();
        let e = c.section::<Scan>("scan").unwrap_err().to_string();
        assert!(e.contains("scan.max_file_size_in_bytes"), "{e}");
    }

    #[test]
    fn wrong_type_names_line_and_never_quotes_the_value() {
        let c = parse("[scan]\n\nmax_file_size = \"hunter2-secret\"\n").unwrap();
        let e = c.section::<Scan>("scan").unwrap_err().to_string();
        assert!(
            e.starts_with("vigil.toml:3: scan.max_file_size: wrong type"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = parse("[scan]\nmax_file_size = = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("vigil.toml:2: "), "{e}");
    }

    #[test]
    fn unknown_sections_are_rejected() {
        let c = parse("[scan]\n[gatway]\nlisten = \"x\"\n").unwrap();
        let e = c.check_sections(&["scan"]).unwrap_err().to_string();
        assert!(
            e.starts_with("vigil.toml:2: gatway: unknown section"),
            "{e}"
        );
    }

    #[test]
    fn env_vars_are_expanded_and_missing_ones_named() {
        std::env::set_var("VIGIL_TEST_FORMAT", "sarif");
        let c = parse(
            "[scan]\nformat = \"${VIGIL_TEST_FORMAT}\"\npaths = [\"a\", \"\\\\${NOT_A_VAR}\"]\n",
        )
        .unwrap();
        let s: Scan = c.section("scan").unwrap();
        assert_eq!(s.format.as_deref(), Some("sarif"));
        assert_eq!(s.paths[1], "\\${NOT_A_VAR}");
        // Unset: parsing and other sections are fine; reading the section names var and key.
        let c = parse("[scan]\n\nformat = \"x-${VIGIL_TEST_SURELY_UNSET}\"\n[env]\n").unwrap();
        let _: Scan = c.section_with("env", &|_| None).unwrap_or_default();
        let e = c.section::<Scan>("scan").unwrap_err().to_string();
        assert_eq!(
            e,
            "vigil.toml:3: environment variable VIGIL_TEST_SURELY_UNSET is not set (used by scan.format)"
        );
        // A lookup (an --env-file) is asked before the process environment would be.
        let s: Scan = c
            .section_with("scan", &|v| {
                (v == "VIGIL_TEST_SURELY_UNSET").then(|| "json".into())
            })
            .unwrap();
        assert_eq!(s.format.as_deref(), Some("x-json"));
    }

    #[test]
    fn missing_section_is_default() {
        let s: Scan = Config::empty().section("scan").unwrap();
        assert_eq!(s.max_file_size, 0);
    }
}
