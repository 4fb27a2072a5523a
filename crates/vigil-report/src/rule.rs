//! What a report says about each rule that ran: id, description, a one-line fix, severity and
//! tags. SARIF lists every rule (`tool.driver.rules`); JSON copies description and tags into
//! each diagnostic.

use crate::diagnostic::Severity;

/// One rule's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleMeta {
    /// Stable id, e.g. `github-pat` or `weak`.
    pub id: String,
    /// One line saying what it finds.
    pub description: String,
    /// One line saying what to do about it.
    pub help: String,
    /// Its default severity.
    pub severity: Severity,
    /// Labels.
    pub tags: Vec<String>,
    /// GitHub code scanning's `security-severity` (0.0 to 10.0); with one, SARIF also tags the
    /// rule `security`.
    pub security_severity: Option<f32>,
}

impl RuleMeta {
    /// A rule with an id and a description, severity error, no help, tags or security severity.
    pub fn new(id: impl Into<String>, description: impl Into<String>) -> Self {
        RuleMeta {
            id: id.into(),
            description: description.into(),
            help: String::new(),
            severity: Severity::Error,
            tags: Vec::new(),
            security_severity: None,
        }
    }

    /// With a one-line fix.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// With a default severity.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// With labels.
    pub fn with_tags(mut self, tags: Vec<String>) -> Self {
        self.tags = tags;
        self
    }

    /// With GitHub's `security-severity`.
    pub fn with_security_severity(mut self, score: f32) -> Self {
        self.security_severity = Some(score);
        self
    }
}
