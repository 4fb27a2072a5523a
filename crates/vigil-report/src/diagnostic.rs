//! One thing a check found: which rule, how bad, where, what to say, and the secret if there is
//! one (kept as a [`Secret`], so it is redacted unless a renderer is asked to show it).

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use vigil_core::{Origin, Secret};

/// How much a diagnostic matters. SARIF's `level`; JUnit reports every one as a failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Must be fixed: a leaked secret, an unsafe setting.
    #[default]
    Error,
    /// Should be looked at.
    Warning,
    /// For information.
    Note,
}

impl Severity {
    /// `error`, `warning` or `note` (SARIF's names).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span of lines and columns, 1-based. Columns count UTF-16 code units (SARIF 2.1.0's default
/// `columnKind`, and what editors count; on an ASCII line, bytes); `end_column` is one past the
/// last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Region {
    /// First line.
    pub line: usize,
    /// First column, if known.
    pub column: Option<usize>,
    /// Last line, if known.
    pub end_line: Option<usize>,
    /// Column after the last byte, if known.
    pub end_column: Option<usize>,
}

/// Where a diagnostic points: a file (and a region of it), a key in it, or a named place that is
/// not a file (an environment, a route).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The file, relative to the root the check ran on, with `/` separators (`-` is stdin).
    pub path: Option<String>,
    /// Lines and columns in the file; `None` for the whole file.
    pub region: Option<Region>,
    /// A key in the file: a dotted configuration key or a variable name.
    pub key: Option<String>,
    /// A named place that is not a file, such as an environment (`production`).
    pub scope: Option<String>,
}

impl Location {
    /// A whole file.
    pub fn file(path: impl Into<String>) -> Self {
        Location {
            path: Some(path.into()),
            ..Location::default()
        }
    }

    /// A named place that is not a file.
    pub fn scope(name: impl Into<String>) -> Self {
        Location {
            scope: Some(name.into()),
            ..Location::default()
        }
    }

    /// This location at a 1-based line; 0 means the whole file.
    pub fn at_line(mut self, line: usize) -> Self {
        self.region = (line > 0).then_some(Region {
            line,
            ..Region::default()
        });
        self
    }

    /// This location at a span: first line and column, last line, column after the end.
    pub fn at_span(
        mut self,
        line: usize,
        column: usize,
        end_line: usize,
        end_column: usize,
    ) -> Self {
        self.region = Some(Region {
            line,
            column: Some(column),
            end_line: Some(end_line),
            end_column: Some(end_column),
        });
        self
    }

    /// This location, naming a key or variable.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into()).filter(|k: &String| !k.is_empty());
        self
    }
}

/// A configuration key or env-file line becomes a file location with its line and key; a flag
/// or a process variable becomes a scope.
impl From<&Origin> for Location {
    fn from(o: &Origin) -> Self {
        match o {
            Origin::ConfigKey { path, line, key } => Location::file(path.display().to_string())
                .at_line(line.unwrap_or(0))
                .with_key(key.clone()),
            Origin::EnvFile { path, line, key } => {
                let l = Location::file(path.display().to_string()).at_line(line.unwrap_or(0));
                match key {
                    Some(k) => l.with_key(k.clone()),
                    None => l,
                }
            }
            Origin::Flag(_) | Origin::EnvVar(_) => Location::scope(o.to_string()),
        }
    }
}

/// `path:line:column`, `path:line`, `path`, or the scope.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(path) = &self.path else {
            return f.write_str(self.scope.as_deref().unwrap_or("-"));
        };
        f.write_str(path)?;
        if let Some(r) = &self.region {
            write!(f, ":{}", r.line)?;
            if let Some(c) = r.column {
                write!(f, ":{c}")?;
            }
        }
        Ok(())
    }
}

/// Stable identities of a diagnostic, for baselines, ignore files and SARIF's
/// `partialFingerprints`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprints {
    /// By place: gitleaks's `file:rule:line` (`commit:file:rule:line` in history). JSON
    /// `fingerprint`, SARIF `gitleaks/fingerprint`.
    pub location: Option<String>,
    /// By content: a hash of rule, file and secret that survives moved lines. JSON `hash`,
    /// SARIF `vigil/v2`.
    pub content: Option<String>,
}

/// The commit a diagnostic of a history scan is attributed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    /// Full hex id.
    pub id: String,
    /// Author name.
    pub author: String,
    /// Author email.
    pub email: String,
    /// Author date, RFC 3339.
    pub date: String,
    /// First line of the message.
    pub summary: String,
}

/// One decoding step a secret was found behind (outermost first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// Standard base64.
    Base64,
    /// URL-safe base64.
    Base64Url,
    /// Hexadecimal.
    Hex,
    /// Percent-encoding (`%2F`).
    Percent,
    /// Backslash escapes in a string literal (`\u0041`, `\x41`).
    Escapes,
    /// gzip or zlib compression.
    Gzip,
    /// UTF-16 text (LE or BE), read as UTF-8.
    Utf16,
    /// UTF-32 text (LE or BE), read as UTF-8.
    Utf32,
}

impl Encoding {
    /// The step's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Base64Url => "base64url",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent",
            Encoding::Escapes => "escapes",
            Encoding::Gzip => "gzip",
            Encoding::Utf16 => "utf-16",
            Encoding::Utf32 => "utf-32",
        }
    }
}

/// A value of a diagnostic's open-ended properties (SARIF's property bag).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Property {
    /// Text.
    Text(String),
    /// A measurement: text shows two decimals, CSV three, JSON all.
    Number(f64),
    /// A count.
    Integer(i64),
    /// A flag.
    Bool(bool),
    /// Labels.
    List(Vec<String>),
}

impl Property {
    /// The value in a table cell or a text line (`decimals` for numbers); lists are joined by `;`.
    pub fn cell(&self, decimals: usize) -> String {
        match self {
            Property::Text(t) => t.clone(),
            Property::Number(n) => format!("{n:.decimals$}"),
            Property::Integer(i) => i.to_string(),
            Property::Bool(b) => b.to_string(),
            Property::List(l) => l.join(";"),
        }
    }
}

impl From<f64> for Property {
    fn from(v: f64) -> Self {
        Property::Number(v)
    }
}

impl From<i64> for Property {
    fn from(v: i64) -> Self {
        Property::Integer(v)
    }
}

impl From<bool> for Property {
    fn from(v: bool) -> Self {
        Property::Bool(v)
    }
}

impl From<String> for Property {
    fn from(v: String) -> Self {
        Property::Text(v)
    }
}

impl From<&str> for Property {
    fn from(v: &str) -> Self {
        Property::Text(v.to_owned())
    }
}

impl From<Vec<String>> for Property {
    fn from(v: Vec<String>) -> Self {
        Property::List(v)
    }
}

/// A diagnostic's open-ended properties, by name.
pub type Properties = BTreeMap<String, Property>;

/// One finding or problem, as every renderer reads it.
///
/// Renderers redact [`Diagnostic::secret`] unless told to show it; nothing else may hold a
/// secret (messages and properties are printed as they are).
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// The rule's id (its metadata, if any, is in [`crate::Report::rules`]).
    pub rule: String,
    /// How much it matters.
    pub severity: Severity,
    /// Where.
    pub location: Location,
    /// One sentence for people, never holding a secret.
    pub message: String,
    /// The secret found, if the check found one.
    pub secret: Option<Secret<String>>,
    /// Stable identities.
    pub fingerprints: Fingerprints,
    /// The commit that introduced it (history scans).
    pub commit: Option<Commit>,
    /// The decodings the secret was found behind, outermost first (empty: found as written).
    pub decoded: Vec<Encoding>,
    /// The members of archives it was found in, outermost first, below
    /// [`Location::path`] (empty: not in an archive).
    pub archive_path: Vec<String>,
    /// Anything else worth reporting (`entropy`). Keys of the JSON wire format (`rule`, `file`,
    /// `secret`…) are reserved: a property of that name is not written.
    pub properties: Properties,
}

impl Diagnostic {
    /// A diagnostic with no secret, fingerprint, commit or property.
    pub fn new(
        rule: impl Into<String>,
        severity: Severity,
        location: Location,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            rule: rule.into(),
            severity,
            location,
            message: message.into(),
            secret: None,
            fingerprints: Fingerprints::default(),
            commit: None,
            decoded: Vec::new(),
            archive_path: Vec::new(),
            properties: Properties::new(),
        }
    }

    /// With the secret that was found.
    pub fn with_secret(mut self, secret: Secret<String>) -> Self {
        self.secret = Some(secret);
        self
    }

    /// With one more property.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<Property>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// The file as reports name it: [`Location::path`], then each archive member after a `!`
    /// (`dist/app.tar.gz!site/config.zip!.env`, gitleaks's form).
    pub fn file(&self) -> Option<String> {
        let path = self.location.path.as_ref()?;
        if self.archive_path.is_empty() {
            return Some(path.clone());
        }
        Some(format!("{path}!{}", self.archive_path.join("!")))
    }

    /// The place as text reports show it: `file:line:column` with the archive members in the
    /// file name (see [`Diagnostic::file`]).
    pub fn place(&self) -> String {
        if self.archive_path.is_empty() || self.location.path.is_none() {
            return self.location.to_string();
        }
        let members = Location {
            path: self.file(),
            ..self.location.clone()
        };
        members.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_display_like_compiler_messages() {
        let l = Location::file("bot/.env").at_span(2, 15, 2, 40);
        assert_eq!(l.to_string(), "bot/.env:2:15");
        assert_eq!(Location::file(".env").at_line(3).to_string(), ".env:3");
        assert_eq!(Location::file(".env").at_line(0).to_string(), ".env");
        assert_eq!(Location::scope("production").to_string(), "production");
    }

    #[test]
    fn origins_become_locations() {
        let key = Origin::ConfigKey {
            path: "vigil.toml".into(),
            line: Some(4),
            key: "token.max_ttl".into(),
        };
        let l = Location::from(&key);
        assert_eq!(l.to_string(), "vigil.toml:4");
        assert_eq!(l.key.as_deref(), Some("token.max_ttl"));
        let l = Location::from(&Origin::EnvFile {
            path: ".env.production".into(),
            line: Some(2),
            key: Some("DB_PASSWORD".into()),
        });
        assert_eq!(l.to_string(), ".env.production:2");
        assert_eq!(l.key.as_deref(), Some("DB_PASSWORD"));
        let l = Location::from(&Origin::EnvVar("MCP_JWT_SECRET".into()));
        assert_eq!(l.path, None);
        assert_eq!(l.to_string(), "MCP_JWT_SECRET (environment variable)");
    }

    #[test]
    fn archive_members_join_the_file_name() {
        let mut d = Diagnostic::new(
            "x",
            Severity::Error,
            Location::file("dist/app.tar.gz").at_span(2, 5, 2, 9),
            "found",
        );
        assert_eq!(d.file().as_deref(), Some("dist/app.tar.gz"));
        d.archive_path = vec!["site/config.zip".into(), ".env".into()];
        assert_eq!(
            d.file().as_deref(),
            Some("dist/app.tar.gz!site/config.zip!.env")
        );
        assert_eq!(d.place(), "dist/app.tar.gz!site/config.zip!.env:2:5");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let raw = "sk-proj-0123456789abcdefghijklmnopqrstuvwxyz";
        let d = Diagnostic::new("x", Severity::Error, Location::file("a"), "found")
            .with_secret(Secret::from(raw));
        assert!(!format!("{d:?}").contains("0123456789abcdef"));
    }
}
