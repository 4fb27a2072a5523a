//! The linter: finds inputs (paths given, folders walked in parallel with `ignore`, the
//! clients' usual files with `--discover`), parses each once, runs every enabled file rule over
//! it, and gathers findings, errors and the tools to pin.

use crate::config::Settings;
use crate::document::{is_structured, Document, DocumentError};
use crate::input::Kind;
use crate::model;
use crate::node::Span;
use crate::rules::{self, Check, Cx, Emit, Raw, ScanHit};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use vigil_core::Secret;
use vigil_report::Severity;
use vigil_scan::Ruleset;

/// Folders a walk never enters.
pub const NEVER_DESCEND: &[&str] = &[
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "vendor",
    "target",
    "__pycache__",
    ".tox",
    ".direnv",
    "dist",
    "build",
    ".next",
    ".cache",
];

/// Files larger than this are skipped (and counted) in walks; named files over it are errors.
pub const MAX_FILE_SIZE: u64 = 10 << 20;

/// One finding, placed.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The rule's id.
    pub rule: &'static str,
    /// Its severity (configured or default).
    pub severity: Severity,
    /// The file (or, for probes, the URL).
    pub path: String,
    /// 1-based line, column, end line, end column (0 for a finding that is not in a file).
    pub region: (usize, usize, usize, usize),
    /// The setting's key path.
    pub key: Option<String>,
    /// The sentence.
    pub message: String,
    /// The secret, if any.
    pub secret: Option<Secret<String>>,
    /// Extra properties (the probe's requests).
    pub properties: Vec<(String, String)>,
}

/// A tool seen in an input, for `--pin`.
#[derive(Debug, Clone)]
pub struct SeenTool {
    /// Its server.
    pub server: String,
    /// Its name.
    pub name: String,
    /// Its JSON.
    pub json: serde_json::Value,
    /// Where it is written.
    pub path: String,
    /// Its line.
    pub line: usize,
}

/// Why an input could not be linted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// It could not be read.
    #[error("{path}: cannot read: {message}")]
    Unreadable {
        /// The path.
        path: String,
        /// The OS error.
        message: String,
    },
    /// A named file over the size limit.
    #[error("{path}: larger than {MAX_FILE_SIZE} bytes; not linted")]
    TooLarge {
        /// The path.
        path: String,
    },
    /// It did not parse.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// A file given by name that `vigil lint` does not read.
    #[error("{path}: not an input vigil lint reads (MCP client configuration, voice manifest, tools/list result, compose file, env file or bot source)")]
    NotRecognized {
        /// The path.
        path: String,
    },
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Findings, sorted by file, line, column, rule.
    pub findings: Vec<Finding>,
    /// Inputs that could not be linted (the run is then incomplete: exit 2).
    pub errors: Vec<InputError>,
    /// Documents linted, by kind name.
    pub linted: Vec<(String, &'static str)>,
    /// Files a walk skipped for size.
    pub too_large: u64,
    /// Tools seen, for `--pin`.
    pub tools: Vec<SeenTool>,
    /// `(server URL, origin)` pairs that voice manifests allow in their CORS settings, for
    /// `--probe`'s comparison.
    pub origins: Vec<(String, String)>,
}

/// A document linted in memory: the document, its findings, its tools.
pub type Linted = (Document, Vec<Finding>, Vec<SeenTool>);

/// The linter: settings and `vigil scan`'s built-in rules, compiled once.
pub struct Linter {
    settings: Settings,
    ruleset: Ruleset,
    keep_tools: bool,
}

impl Linter {
    /// A linter with these settings.
    pub fn new(settings: Settings) -> Self {
        Linter {
            settings,
            ruleset: Ruleset::builtin(),
            keep_tools: true,
        }
    }

    /// Whether to keep each tool's JSON for `--pin` (on by default; off saves a copy of every
    /// tool when no lock file is used).
    pub fn keep_tools(mut self, keep: bool) -> Self {
        self.keep_tools = keep;
        self
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Lints one parsed document: its findings, and its tools.
    pub fn check(&self, doc: &Document) -> (Vec<Finding>, Vec<SeenTool>) {
        let servers = model::servers(doc.kind, &doc.root);
        let stem = Path::new(&doc.path)
            .file_stem()
            .map_or_else(|| doc.path.clone(), |s| s.to_string_lossy().into_owned());
        let tools = model::tools(doc.kind, &doc.root, &servers, &stem);
        let scan = if is_structured(doc.kind) {
            self.scan(doc)
        } else {
            Vec::new()
        };
        let collected = crate::node::Strings::collect(&doc.root);
        let strings = collected.all();
        let cx = Cx {
            strings: &strings,
            doc,
            servers: &servers,
            tools: &tools,
            settings: &self.settings,
            scan: &scan,
        };
        let mut raw: Vec<Raw> = Vec::new();
        for r in rules::ALL {
            if let Check::File(f) = r.check {
                if self.settings.enabled(r.id) {
                    f(
                        &cx,
                        &mut Emit {
                            rule: r.id,
                            out: &mut raw,
                        },
                    );
                }
            }
        }
        let findings = raw
            .into_iter()
            .map(|r| {
                let rule = rules::find(r.rule).expect("registered rule");
                Finding {
                    rule: rule.id,
                    severity: self.settings.severity_of(rule.id, rule.severity),
                    path: doc.path.clone(),
                    region: doc.region(r.span),
                    key: r.key,
                    message: r.message,
                    secret: r.secret,
                    properties: Vec::new(),
                }
            })
            .collect();
        let seen = tools
            .iter()
            .filter(|_| self.keep_tools)
            .map(|t| SeenTool {
                server: t.server.clone(),
                name: t.name.clone(),
                json: t.node.to_json(),
                path: doc.path.clone(),
                line: doc.lines.position(t.node.span.start).0,
            })
            .collect();
        (findings, seen)
    }

    fn scan(&self, doc: &Document) -> Vec<ScanHit> {
        let mut found = Vec::new();
        self.ruleset
            .scan_bytes(&doc.path, None, doc.text.as_bytes(), &mut found);
        found
            .into_iter()
            .map(|f| {
                let start = doc.lines.offset(f.line, f.column);
                let end = doc.lines.offset(f.end_line, f.end_column);
                ScanHit {
                    span: Span::new(start, end),
                    description: f.description.clone(),
                    secret: f.secret.clone(),
                }
            })
            .collect()
    }

    /// Lints text that came from `path` (as if read from disk). `Ok(None)`: not an input.
    pub fn lint_text(&self, path: &Path, text: &str) -> Result<Option<Linted>, InputError> {
        let shown = path.to_string_lossy().into_owned();
        let Some(doc) = Document::from_text(path, &shown, text.to_owned())? else {
            return Ok(None);
        };
        let (f, t) = self.check(&doc);
        Ok(Some((doc, f, t)))
    }

    /// Lints files and folders. Files given by name must be inputs `vigil lint` reads; folders
    /// are walked (`.gitignore` respected, hidden files included, [`NEVER_DESCEND`] and
    /// `[lint] exclude` skipped) and keep only what is recognised.
    pub fn run(&self, paths: &[PathBuf], threads: usize) -> Outcome {
        let out = Mutex::new(Outcome::default());
        let mut dirs = Vec::new();
        for p in paths {
            match std::fs::metadata(p) {
                Ok(m) if m.is_dir() => dirs.push(p.clone()),
                Ok(m) if m.len() > MAX_FILE_SIZE => lock(&out)
                    .errors
                    .push(InputError::TooLarge { path: shown(p) }),
                Ok(_) => self.file(p, &shown(p), true, &out),
                Err(e) => lock(&out).errors.push(InputError::Unreadable {
                    path: shown(p),
                    message: e.to_string(),
                }),
            }
        }
        for d in dirs {
            self.walk(&d, threads, &out);
        }
        let mut o = out.into_inner().unwrap_or_else(|e| e.into_inner());
        o.findings
            .sort_by(|a, b| (&a.path, a.region, a.rule).cmp(&(&b.path, b.region, b.rule)));
        o.linted.sort();
        o.errors.sort_by_key(|e| e.to_string());
        o
    }

    fn file(&self, path: &Path, shown: &str, named: bool, out: &Mutex<Outcome>) {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                lock(out).errors.push(InputError::Unreadable {
                    path: shown.to_owned(),
                    message: e.to_string(),
                });
                return;
            }
        };
        match Document::from_bytes(path, shown, bytes) {
            Ok(Some(doc)) => {
                let (f, t) = self.check(&doc);
                let mut o = lock(out);
                o.findings.extend(f);
                o.tools.extend(t);
                o.linted.push((doc.path.clone(), doc.kind.name()));
                o.origins.extend(manifest_origins(&doc));
            }
            Ok(None) if named => lock(out).errors.push(InputError::NotRecognized {
                path: shown.to_owned(),
            }),
            Ok(None) => {}
            // A file found by a walk that is not UTF-8 is not one of ours.
            Err(DocumentError::NotText { .. }) if !named => {}
            Err(e) => lock(out).errors.push(e.into()),
        }
    }

    fn walk(&self, root: &Path, threads: usize, out: &Mutex<Outcome>) {
        let mut b = ignore::WalkBuilder::new(root);
        b.hidden(false)
            .git_ignore(true)
            .git_exclude(true)
            .ignore(true)
            .parents(true)
            .threads(threads);
        b.filter_entry(|e| {
            !(e.file_type().is_some_and(|t| t.is_dir())
                && e.depth() > 0
                && NEVER_DESCEND.iter().any(|n| e.file_name() == *n))
        });
        if !self.settings.exclude.is_empty() {
            let mut o = ignore::overrides::OverrideBuilder::new(root);
            for g in &self.settings.exclude {
                let _ = o.add(&format!("!{g}"));
            }
            if let Ok(o) = o.build() {
                b.overrides(o);
            }
        }
        b.build_parallel().run(|| {
            Box::new(|entry| {
                let Ok(e) = entry else {
                    return ignore::WalkState::Continue;
                };
                if !e.file_type().is_some_and(|t| t.is_file()) {
                    return ignore::WalkState::Continue;
                }
                if e.metadata().is_ok_and(|m| m.len() > MAX_FILE_SIZE) {
                    lock(out).too_large += 1;
                    return ignore::WalkState::Continue;
                }
                let p = e.path();
                if crate::input::guess(p) == crate::input::Guess::No {
                    return ignore::WalkState::Continue;
                }
                let shown = p
                    .strip_prefix("./")
                    .unwrap_or(p)
                    .to_string_lossy()
                    .into_owned();
                self.file(p, &shown, false, out);
                ignore::WalkState::Continue
            })
        });
    }
}

fn shown(p: &Path) -> String {
    p.strip_prefix("./")
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

fn lock(m: &Mutex<Outcome>) -> std::sync::MutexGuard<'_, Outcome> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether a document kind is one whose tools are pinned.
pub fn pins(kind: Kind) -> bool {
    matches!(kind, Kind::ToolsList | Kind::VoiceManifest)
}

/// Findings of `--pin`: each tool seen compared with the lock file, per server. Only servers
/// the lock file pins are compared, unless `all` (a lock file being created pins them all).
pub fn pin_findings(
    lock: &crate::pin::LockFile,
    lock_path: &str,
    lock_text: &str,
    tools: &[SeenTool],
    settings: &Settings,
) -> Vec<Finding> {
    use crate::pin::Change;
    let mut by_server: std::collections::BTreeMap<&str, Vec<&SeenTool>> =
        std::collections::BTreeMap::new();
    for t in tools {
        by_server.entry(t.server.as_str()).or_default().push(t);
    }
    let mut out = Vec::new();
    let mut push = |id: &'static str, path: &str, line: usize, key: String, message: String| {
        let rule = rules::find(id).expect("pin rule");
        if settings.enabled(id) {
            out.push(Finding {
                rule: rule.id,
                severity: settings.severity_of(id, rule.severity),
                path: path.to_owned(),
                region: (line, 0, line, 0),
                key: Some(key),
                message,
                secret: None,
                properties: Vec::new(),
            });
        }
    };
    let line_in_lock = |tool: &str| {
        lock_text.find(&format!("\"{tool}\"")).map_or(0, |i| {
            lock_text[..i].bytes().filter(|b| *b == b'\n').count() + 1
        })
    };
    for (server, list) in &by_server {
        let json: Vec<serde_json::Value> = list.iter().map(|t| t.json.clone()).collect();
        for c in lock.compare(server, &json) {
            match c {
                Change::Changed { tool, fields } => {
                    let t = list.iter().find(|t| t.name == tool).expect("seen");
                    push(
                        "tool-changed",
                        &t.path,
                        t.line,
                        format!("{server}.{tool}"),
                        format!(
                            "tool `{tool}` of `{server}` changed since it was pinned ({})",
                            fields.join(", ")
                        ),
                    );
                }
                Change::Added { tool } => {
                    let t = list.iter().find(|t| t.name == tool).expect("seen");
                    push(
                        "tool-added",
                        &t.path,
                        t.line,
                        format!("{server}.{tool}"),
                        format!("tool `{tool}` of `{server}` is not pinned in {lock_path}"),
                    );
                }
                Change::Removed { tool } => {
                    push(
                        "tool-removed",
                        lock_path,
                        line_in_lock(&tool),
                        format!("{server}.{tool}"),
                        format!("pinned tool `{tool}` of `{server}` is no longer offered"),
                    );
                }
            }
        }
    }
    out
}

/// Findings of a probe.
pub fn probe_findings(
    obs: &crate::probe::Observed,
    sent: &[crate::probe::Sent],
    settings: &Settings,
) -> Vec<Finding> {
    let requests: Vec<String> = sent
        .iter()
        .map(|s| format!("{} {} → {}", s.what, s.url, s.outcome))
        .collect();
    crate::probe::judge(obs)
        .into_iter()
        .filter(|(id, _)| settings.enabled(id))
        .map(|(id, message)| {
            let rule = rules::find(id).expect("probe rule");
            Finding {
                rule: rule.id,
                severity: settings.severity_of(id, rule.severity),
                path: obs.url.clone(),
                region: (0, 0, 0, 0),
                key: None,
                message,
                secret: None,
                properties: vec![("requests".into(), requests.join("; "))],
            }
        })
        .collect()
}

/// The origins a voice manifest's servers allow in their `cors` settings, with the server URL.
pub fn manifest_origins(doc: &Document) -> Vec<(String, String)> {
    if doc.kind != Kind::VoiceManifest {
        return Vec::new();
    }
    let mut out = Vec::new();
    for s in model::servers(doc.kind, &doc.root) {
        let (Some(url), Some(cors)) = (s.url_text(), s.node.get("cors")) else {
            continue;
        };
        if let Some(o) = cors.get_loose(&[
            "allow_origin",
            "allow_origins",
            "allowed_origins",
            "origins",
            "origin",
        ]) {
            let list: Vec<String> = match &o.value.value {
                crate::node::Value::String(v) => vec![v.clone()],
                crate::node::Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            out.extend(
                list.into_iter()
                    .filter(|o| o != "*")
                    .map(|o| (url.to_owned(), o)),
            );
        }
    }
    out
}
