//! Reading a JSON report back as typed data (see `render/json.rs` for the wire format), for
//! baselines and `vigil purge plan --report`. Whether a secret is in clear is read from the
//! report's `redacted` key, never guessed from how the secret looks.

use serde::Deserialize;
use vigil_core::Secret;

/// One diagnostic of a JSON report, as far as readers need it.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    /// The rule's id.
    pub rule: String,
    /// The file.
    #[serde(default)]
    pub file: Option<String>,
    /// The 1-based line.
    #[serde(default)]
    pub line: Option<usize>,
    /// The secret as the report shows it (masked unless `redacted` is `false`).
    #[serde(default)]
    pub secret: Option<Secret<String>>,
    /// Whether `secret` is masked. Absent in reports of Vigil versions before this key.
    #[serde(default)]
    pub redacted: Option<bool>,
    /// Place fingerprint.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Content hash.
    #[serde(default)]
    pub hash: Option<String>,
    /// The commit, for history findings.
    #[serde(default)]
    pub commit: Option<String>,
}

impl Entry {
    /// What the report says about the secret's form.
    pub fn secret_state(&self) -> SecretState<'_> {
        match (&self.secret, self.redacted) {
            (None, _) => SecretState::Absent,
            (Some(s), Some(false)) => SecretState::Clear(s),
            (Some(_), Some(true)) => SecretState::Redacted,
            (Some(_), None) => SecretState::Unknown,
        }
    }
}

/// Whether an entry's secret can be used as the secret itself.
#[derive(Debug, Clone, Copy)]
pub enum SecretState<'a> {
    /// The report shows it in clear (`--show-secrets`).
    Clear(&'a Secret<String>),
    /// The report masks it.
    Redacted,
    /// The report does not say (written before reports said so).
    Unknown,
    /// The entry has no secret.
    Absent,
}

/// Why a text is not a JSON report. Messages never quote values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Not JSON at all.
    #[error("not a JSON report: line {line}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// What the parser said.
        message: String,
    },
    /// JSON, but not an array.
    #[error("not a JSON report (an array of findings)")]
    NotAnArray,
    /// An element that is not a diagnostic.
    #[error("finding {index}: not a finding of a Vigil JSON report ({problem})")]
    Entry {
        /// 0-based index in the array.
        index: usize,
        /// What is missing or wrong.
        problem: String,
    },
}

/// Reads a JSON report. The closing `{"incomplete": true, …}` object of an incomplete run (see
/// `render/json.rs`) is not a diagnostic and is passed over.
pub fn json(text: &str) -> Result<Vec<Entry>, ReadError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| ReadError::Syntax {
        line: e.line(),
        message: syntax_message(&e),
    })?;
    let serde_json::Value::Array(items) = v else {
        return Err(ReadError::NotAnArray);
    };
    items
        .into_iter()
        .enumerate()
        .filter(|(_, item)| item.get("incomplete").is_none() || item.get("rule").is_some())
        .map(|(index, item)| {
            Entry::deserialize(item).map_err(|e| ReadError::Entry {
                index,
                problem: entry_problem(&e.to_string()),
            })
        })
        .collect()
}

/// serde_json's syntax message without its position (given separately).
fn syntax_message(e: &serde_json::Error) -> String {
    let m = e.to_string();
    match m.rfind(" at line ") {
        Some(i) => m[..i].to_owned(),
        None => m,
    }
}

/// serde's message for a bad entry, without the value it may quote.
fn entry_problem(m: &str) -> String {
    if m.starts_with("missing field") {
        m.to_owned()
    } else {
        "a field has the wrong type".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_json_renderer_writes() {
        // Built at run time: no secret-shaped literal in the source.
        let clear = ["clear", "-value-", "x".repeat(24).as_str()].concat();
        let text = format!(
            r#"[{{"rule":"a","file":".env","line":5,"secret":"abcd…wxyz","redacted":true,"commit":"abc"}},
               {{"rule":"b","secret":"{clear}","redacted":false}},
               {{"rule":"c","secret":"abcd…wxyz"}},
               {{"rule":"d"}}]"#
        );
        let e = json(&text).unwrap();
        assert!(matches!(e[0].secret_state(), SecretState::Redacted));
        assert_eq!(e[0].commit.as_deref(), Some("abc"));
        match e[1].secret_state() {
            SecretState::Clear(s) => assert!(s.ct_eq_bytes(clear.as_bytes())),
            other => panic!("{other:?}"),
        }
        assert!(matches!(e[2].secret_state(), SecretState::Unknown));
        assert!(matches!(e[3].secret_state(), SecretState::Absent));
        let with_status = r#"[{"rule":"a"},{"incomplete":true,"reasons":[],"skipped":{}}]"#;
        assert_eq!(json(with_status).unwrap().len(), 1);
    }

    #[test]
    fn errors_say_what_and_where_without_values() {
        assert_eq!(
            json("{ not json").unwrap_err(),
            ReadError::Syntax {
                line: 1,
                message: "key must be a string".into()
            }
        );
        assert_eq!(json("{}").unwrap_err(), ReadError::NotAnArray);
        let e = json(r#"[{"rule": "x"}, {"file": "a"}]"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "finding 1: not a finding of a Vigil JSON report (missing field `rule`)"
        );
        let e = json(r#"[{"rule": "x", "line": "hunter2-hunter2"}]"#).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
