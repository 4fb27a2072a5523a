//! The rules, one file each (ruff's layout): an id that never changes, a family, a default
//! severity, one line saying what it finds and one saying how to fix it, a check, and examples
//! and counterexamples that the test at the bottom of this file runs both ways. An example's `«`
//! marks where a finding of its rule must start; every marker must be hit and nothing else.
//! Fixture text may hold `vigil scan`'s templates (`{alnum:36}`, `{b64url:68}`, `{jwt}`), which
//! expand at test time, so no real-looking secret is stored here.

use crate::config::Settings;
use crate::document::Document;
use crate::model::{Server, Tool};
use crate::node::Span;
use vigil_core::Secret;
use vigil_report::Severity;

mod container_docker_socket;
mod container_host_mount;
mod container_host_network;
mod container_privileged;
mod container_unpinned_image;
mod cors_wildcard_credentials;
mod credential_in_url;
mod debug_logging_enabled;
mod discord_dangerous_permissions;
mod discord_excess_permissions;
mod discord_privileged_intent;
mod discord_undeclared_intent;
mod duplicate_server;
mod duplicate_tool;
mod filesystem_root_too_broad;
mod hardcoded_credential;
mod input_not_password;
mod oauth2_incomplete;
mod oauth2_insecure_url;
mod plaintext_transport;
mod port_exposed_all_interfaces;
mod privacy_block_missing;
mod privacy_field_missing;
mod privacy_policy_missing;
mod recording_consent_missing;
mod remote_script;
mod remote_without_auth;
mod review_overdue;
mod tls_verification_disabled;
mod tool_cross_reference;
mod tool_description_too_long;
mod tool_hidden_instructions;
mod tool_input_unvalidated;
mod tool_invisible_unicode;
mod tool_sensitive_path;
mod unpinned_git_source;
mod unpinned_package;

pub(crate) mod common;

/// Whether a character is invisible (zero width, bidi control, tag character…): key names are
/// read without them.
pub(crate) fn invisible_char(c: char) -> bool {
    tool_invisible_unicode::invisible(c)
}

/// Shared with the container rules: whether a path is the root or a home directory.
pub(crate) fn filesystem_root_too_broad_check(p: &str) -> bool {
    filesystem_root_too_broad::too_broad(p)
}

pub(crate) mod pin_rules;
pub(crate) mod probe_rules;

/// What a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Secrets written into configuration.
    Credentials,
    /// Plain HTTP, switched-off TLS checks.
    Transport,
    /// Remote servers without authentication, OAuth blocks.
    Authentication,
    /// How servers are started: unpinned packages, broad filesystem roots.
    Launchers,
    /// Containers: privileges, host network, mounts, images, ports.
    Containers,
    /// The voice manifest's policy: privacy, CORS, reviews.
    Manifest,
    /// Tool descriptions that speak to the model.
    ToolPoisoning,
    /// Tools that changed since they were pinned.
    Pinning,
    /// Discord intents and permissions.
    Discord,
    /// What a live endpoint answers.
    Probe,
}

impl Family {
    /// The family's tag in reports.
    pub fn tag(self) -> &'static str {
        match self {
            Family::Credentials => "credentials",
            Family::Transport => "transport",
            Family::Authentication => "authentication",
            Family::Launchers => "launchers",
            Family::Containers => "containers",
            Family::Manifest => "manifest",
            Family::ToolPoisoning => "tool-poisoning",
            Family::Pinning => "pinning",
            Family::Discord => "discord",
            Family::Probe => "probe",
        }
    }
}

/// How a rule is checked.
#[derive(Clone, Copy)]
pub enum Check {
    /// Over each document.
    File(fn(&Cx<'_>, &mut Emit<'_>)),
    /// By comparing tools with a lock file (`--pin`).
    Pin,
    /// Over what a live endpoint answered (`--probe`).
    Probe,
}

/// A fixture: a file name and its text (templates and `«` markers allowed).
#[derive(Debug, Clone, Copy)]
pub struct Fixture {
    /// The path it is linted as (its name decides its kind).
    pub path: &'static str,
    /// Its text.
    pub text: &'static str,
}

/// A fixture (for the rule tables).
pub(crate) const fn fx(path: &'static str, text: &'static str) -> Fixture {
    Fixture { path, text }
}

/// One rule.
pub struct Rule {
    /// Stable id.
    pub id: &'static str,
    /// Its family.
    pub family: Family,
    /// Default severity.
    pub severity: Severity,
    /// What it finds, one line.
    pub summary: &'static str,
    /// How to fix it, one line.
    pub fix: &'static str,
    /// How it is checked.
    pub check: Check,
    /// Inputs it must report (where `«` says).
    pub examples: &'static [Fixture],
    /// Inputs it must not report.
    pub counterexamples: &'static [Fixture],
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

/// Every rule, in report order.
pub static ALL: &[&Rule] = &[
    &hardcoded_credential::RULE,
    &credential_in_url::RULE,
    &input_not_password::RULE,
    &plaintext_transport::RULE,
    &tls_verification_disabled::RULE,
    &remote_without_auth::RULE,
    &remote_without_auth::DISCOVERY,
    &oauth2_incomplete::RULE,
    &oauth2_insecure_url::RULE,
    &unpinned_package::RULE,
    &unpinned_git_source::RULE,
    &remote_script::RULE,
    &duplicate_server::RULE,
    &filesystem_root_too_broad::RULE,
    &debug_logging_enabled::RULE,
    &container_privileged::RULE,
    &container_host_network::RULE,
    &container_host_mount::RULE,
    &container_docker_socket::RULE,
    &container_unpinned_image::RULE,
    &port_exposed_all_interfaces::RULE,
    &privacy_block_missing::RULE,
    &privacy_field_missing::RULE,
    &recording_consent_missing::RULE,
    &privacy_policy_missing::RULE,
    &cors_wildcard_credentials::RULE,
    &review_overdue::RULE,
    &tool_invisible_unicode::RULE,
    &tool_hidden_instructions::RULE,
    &tool_cross_reference::RULE,
    &tool_sensitive_path::RULE,
    &tool_description_too_long::RULE,
    &tool_input_unvalidated::RULE,
    &duplicate_tool::RULE,
    &pin_rules::CHANGED,
    &pin_rules::ADDED,
    &pin_rules::REMOVED,
    &discord_privileged_intent::RULE,
    &discord_undeclared_intent::RULE,
    &discord_dangerous_permissions::RULE,
    &discord_excess_permissions::RULE,
    &probe_rules::PLAINTEXT,
    &probe_rules::NO_HSTS,
    &probe_rules::NO_AUTH,
    &probe_rules::NO_RESOURCE_METADATA,
    &probe_rules::BAD_RESOURCE_METADATA,
    &probe_rules::FOREIGN_ORIGIN,
    &probe_rules::CORS_WILDCARD_CREDENTIALS,
    &probe_rules::CORS_MISMATCH,
    &probe_rules::NO_CSP,
    &probe_rules::NO_RATE_LIMIT,
    &probe_rules::SECURITY_HEADERS,
];

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.id == id)
}

/// What a file rule sees.
pub struct Cx<'a> {
    /// The document.
    pub doc: &'a Document,
    /// Its servers.
    pub servers: &'a [Server<'a>],
    /// Its tools.
    pub tools: &'a [Tool<'a>],
    /// The settings.
    pub settings: &'a Settings,
    /// What `vigil scan`'s rules found in the document's text.
    pub scan: &'a [ScanHit],
    /// Every string of the document's tree with its path, collected once.
    pub strings: &'a [crate::node::StrAt<'a>],
    /// The Discord intents the document asks for, found once for the rules that read them.
    pub(crate) intents: std::cell::OnceCell<Vec<crate::discord::Request>>,
    /// The Discord permissions the document asks for, found once.
    pub(crate) permissions: std::cell::OnceCell<Vec<crate::discord::Request>>,
}

impl Cx<'_> {
    /// The Discord intents the document asks for ([`crate::discord::intents`]).
    pub fn intents(&self) -> &[crate::discord::Request] {
        self.intents
            .get_or_init(|| crate::discord::intents(self.doc))
    }

    /// The Discord permissions the document asks for ([`crate::discord::permissions`]).
    pub fn permissions(&self) -> &[crate::discord::Request] {
        self.permissions
            .get_or_init(|| crate::discord::permissions(self.doc))
    }
}

/// A secret `vigil scan`'s rules found in a document: where, which rule, and the secret.
#[derive(Debug, Clone)]
pub struct ScanHit {
    /// Where in the text.
    pub span: Span,
    /// The scan rule's description (`GitHub personal access token`).
    pub description: String,
    /// The secret.
    pub secret: Secret<String>,
}

/// A finding before it has a line: which rule, where in the text, what to say.
#[derive(Debug, Clone)]
pub struct Raw {
    /// The rule.
    pub rule: &'static str,
    /// Where.
    pub span: Span,
    /// The key path of the setting, if any.
    pub key: Option<String>,
    /// The sentence (never a secret).
    pub message: String,
    /// The secret, if one was found.
    pub secret: Option<Secret<String>>,
}

/// Where a rule's findings go.
pub struct Emit<'o> {
    pub(crate) rule: &'static str,
    pub(crate) out: &'o mut Vec<Raw>,
}

impl Emit<'_> {
    /// Reports at `span`, naming the setting `key`.
    pub fn at(&mut self, span: Span, key: impl ToString, message: impl Into<String>) {
        let key = key.to_string();
        self.out.push(Raw {
            rule: self.rule,
            span,
            key: (!key.is_empty()).then_some(key),
            message: message.into(),
            secret: None,
        });
    }

    /// Reports a secret (redacted in every report unless shown on request).
    pub fn secret(
        &mut self,
        span: Span,
        key: impl ToString,
        message: impl Into<String>,
        secret: String,
    ) {
        let key = key.to_string();
        self.out.push(Raw {
            rule: self.rule,
            span,
            key: (!key.is_empty()).then_some(key),
            message: message.into(),
            secret: Some(Secret::new(secret)),
        });
    }
}

#[cfg(test)]
pub(crate) mod fixtures;
