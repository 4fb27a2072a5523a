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
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
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

/// Parsed documents kept at most while the scan rules compile (then the walk waits for them).
const BACKLOG_MAX: usize = 512;

/// Files larger than this are not linted (an error when they could be inputs).
pub const MAX_FILE_SIZE: u64 = 10 << 20;

/// The size limit of a client's own file (matched by name).
pub const MAX_CLIENT_FILE_SIZE: u64 = 256 << 20;

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
    /// A file over the size limit.
    #[error("{path}: larger than {limit_mib} MiB; not linted")]
    TooLarge {
        /// The path.
        path: String,
        /// The limit it is over, in MiB.
        limit_mib: u64,
    },
    /// A folder of a walk could not be listed (or an ignore file read).
    #[error("{message}")]
    Walk {
        /// The walker's message (it names the path).
        message: String,
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

impl InputError {
    /// Passes every text of the error that may quote the input (a parser's message, an OS or
    /// walker message) through `redact`.
    pub fn redact(&mut self, redact: impl Fn(&str) -> String) {
        match self {
            InputError::Unreadable { message, .. } | InputError::Walk { message } => {
                *message = redact(message);
            }
            InputError::Document(DocumentError::Syntax { error, .. }) => {
                error.message = redact(&error.message);
            }
            InputError::TooLarge { .. }
            | InputError::NotRecognized { .. }
            | InputError::Document(_) => {}
        }
    }
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
    /// Inputs not linted for size (each is also an error).
    pub too_large: u64,
    /// Tools seen, for `--pin`.
    pub tools: Vec<SeenTool>,
    /// `(server URL, origin)` pairs that voice manifests allow in their CORS settings, for
    /// `--probe`'s comparison.
    pub origins: Vec<(String, String)>,
}

/// A document linted in memory: the document, its findings, its tools.
pub type Linted = (Document, Vec<Finding>, Vec<SeenTool>);

/// How the scan rules are compiled on their thread: `None` when the configuration they come
/// from is refused (the caller learns why from its own closure).
type CompileRules = Box<dyn FnOnce() -> Option<Ruleset> + Send + 'static>;

/// The linter: settings and `vigil scan`'s rules (the built-in ones, or the configuration
/// `vigil scan` would use in the same place: [`Linter::with_scan_rules`]), compiled once (on a
/// thread of their own, while the walk starts and the first files are read and parsed).
pub struct Linter {
    settings: Settings,
    /// The compiled rules; `None` once their configuration was refused (nothing is checked
    /// then, and the walk stops).
    ruleset: OnceLock<Option<Ruleset>>,
    compiling: Mutex<Option<JoinHandle<Option<Ruleset>>>>,
    /// What compiles the rules when their thread could not be started (the built-ins only: a
    /// configuration's closure went to the thread).
    fallback: Option<fn() -> Ruleset>,
    /// Documents parsed while the rules were still compiling, checked once they are ready.
    backlog: Mutex<Vec<Document>>,
    /// Compose files linted (canonical paths): found by the walk, named, or named by another
    /// compose file's `extends.file` or `include`, each linted once.
    composed: Mutex<std::collections::HashSet<PathBuf>>,
    keep_tools: bool,
    show_secrets: bool,
}

impl Linter {
    /// A linter with these settings and `vigil scan`'s built-in rules.
    pub fn new(settings: Settings) -> Self {
        Self::start(
            settings,
            Box::new(|| Some(Ruleset::builtin())),
            Some(Ruleset::builtin),
        )
    }

    /// A linter whose scan rules `compile` makes (on a thread of its own): `vigil lint` passes
    /// `vigil scan`'s resolution of the configuration in the same place (`vigil.toml [scan]`,
    /// a `.gitleaks.toml` beside the code), so a credential is judged by the rules `vigil scan`
    /// uses there. `compile` returns `None` when that configuration is refused: the linter then
    /// checks nothing and stops its walk ([`Linter::rules_refused`]); the caller, which kept
    /// the reason, must fail the run.
    pub fn with_scan_rules(
        settings: Settings,
        compile: impl FnOnce() -> Option<Ruleset> + Send + 'static,
    ) -> Self {
        Self::start(settings, Box::new(compile), None)
    }

    fn start(settings: Settings, compile: CompileRules, fallback: Option<fn() -> Ruleset>) -> Self {
        // Compiling the scan rules' regexes is a fixed cost of about 0.2 s: started here, it
        // overlaps the walk and the parsing of the first files instead of delaying them.
        let compiling = std::thread::Builder::new()
            .name("vigil-lint-rules".into())
            .spawn(compile)
            .ok();
        Linter {
            settings,
            ruleset: OnceLock::new(),
            compiling: Mutex::new(compiling),
            fallback,
            backlog: Mutex::new(Vec::new()),
            composed: Mutex::new(std::collections::HashSet::new()),
            keep_tools: true,
            show_secrets: false,
        }
    }

    /// The scan rules, waiting for them if they are still being compiled; `None` when their
    /// configuration was refused.
    fn ruleset(&self) -> Option<&Ruleset> {
        self.ruleset
            .get_or_init(|| {
                let handle = self
                    .compiling
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                match handle.map(JoinHandle::join) {
                    Some(Ok(rules)) => rules,
                    // A compile thread that could not start or panicked: the built-ins are
                    // compiled here (a panic then repeats on this thread, as it would have
                    // without the thread); a configuration's rules are refused.
                    _ => self.fallback.map(|f| f()),
                }
            })
            .as_ref()
    }

    /// Whether the scan rules' configuration was refused (waits for the rules): the outcome of
    /// [`Linter::run`] is then incomplete and must not be reported.
    pub fn rules_refused(&self) -> bool {
        self.ruleset().is_none()
    }

    /// Whether the rules were refused, without waiting for them.
    fn refused_yet(&self) -> bool {
        matches!(self.ruleset.get(), Some(None))
    }

    /// Whether the rules are compiled (or being joined by another thread), without waiting for
    /// the compile thread.
    fn ruleset_ready(&self) -> bool {
        self.ruleset.get().is_some()
            || self
                .compiling
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .is_none_or(JoinHandle::is_finished)
    }

    /// Whether messages may quote credentials in full (`--show-secrets`); by default URL
    /// userinfo, secret query values and known token shapes in messages are masked.
    pub fn show_secrets(mut self, show: bool) -> Self {
        self.show_secrets = show;
        self
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
        let Some(ruleset) = self.ruleset() else {
            return (Vec::new(), Vec::new());
        };
        let mut servers = model::servers(doc.kind, &doc.root);
        // A listed server's `name` that YAML reads as a boolean or number (`name: y`, `name: on`,
        // `name: 42`) names it as written, not as `#1` (black-box tester, session 14 round 9:
        // F10).
        for s in &mut servers {
            if let Some(n) = s
                .node
                .get("name")
                .filter(|n| n.as_str().is_none() && n.scalar_text().is_some())
                .filter(|_| s.name.starts_with('#') || s.name == "(file)")
            {
                if let Some(t) = doc
                    .text
                    .get(n.span.start..n.span.end)
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                {
                    s.name = t.to_owned();
                }
            }
        }
        let stem = Path::new(&doc.path)
            .file_stem()
            .map_or_else(|| doc.path.clone(), |s| s.to_string_lossy().into_owned());
        let tools = model::tools(doc.kind, &doc.root, &servers, &stem);
        let scan = if is_structured(doc.kind) {
            scan(ruleset, doc)
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
            intents: std::cell::OnceCell::new(),
            permissions: std::cell::OnceCell::new(),
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
        let regions = doc.regions(&raw.iter().map(|r| r.span).collect::<Vec<_>>());
        let findings = raw
            .into_iter()
            .zip(regions)
            .map(|(r, region)| {
                let rule = rules::find(r.rule).expect("registered rule");
                Finding {
                    rule: rule.id,
                    severity: self.settings.severity_of(rule.id, rule.severity),
                    path: doc.path.clone(),
                    region,
                    // A key path and a message may hold a secret too: a server or tool named
                    // by a token is quoted in every message about it (black-box tester,
                    // session 12 round 6: F2), so any word that looks like one is masked.
                    key: match r.key {
                        Some(k) if !self.show_secrets => {
                            Some(crate::redact::redact_quoted(&k, ruleset))
                        }
                        k => k,
                    },
                    message: if self.show_secrets {
                        r.message
                    } else {
                        crate::redact::redact_quoted(&r.message, ruleset)
                    },
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

    /// Checks a parsed document and records what it holds, or, while the rules are still
    /// compiling, keeps it for later; once they are ready, also checks what was kept (a few at
    /// a time, so the walk's threads share that work).
    fn finish(&self, doc: Document, out: &Mutex<Outcome>) {
        if !self.ruleset_ready() {
            let mut kept = lock_vec(&self.backlog);
            // Bounded: past that, the thread waits for the rules (memory stays bounded however
            // slowly they compile).
            if kept.len() < BACKLOG_MAX {
                kept.push(doc);
                return;
            }
        }
        self.record(&doc, out);
        self.drain(out);
    }

    /// Checks the documents kept while the rules compiled.
    fn drain(&self, out: &Mutex<Outcome>) {
        loop {
            let batch = {
                let mut b = self.backlog.lock().unwrap_or_else(|e| e.into_inner());
                let n = b.len().min(8);
                let at = b.len() - n;
                b.split_off(at)
            };
            if batch.is_empty() {
                return;
            }
            for d in &batch {
                self.record(d, out);
            }
        }
    }

    fn record(&self, doc: &Document, out: &Mutex<Outcome>) {
        let (f, t) = self.check(doc);
        let origins = manifest_origins(doc);
        let mut o = lock(out);
        o.findings.extend(f);
        o.tools.extend(t);
        o.linted.push((doc.path.clone(), doc.kind.name()));
        o.origins.extend(origins);
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
    /// are walked (`.gitignore` and `.ignore` respected, hidden files included, [`NEVER_DESCEND`]
    /// and `[lint] exclude` skipped) and keep only what is recognised. A walk never skips an
    /// input silently: a client's file (matched by name) is read even when an ignore file
    /// excludes it, and an input that cannot be read, decoded, parsed for depth, or is too large,
    /// a symlink leaving the folder, or a folder that cannot be listed is an error (the run is
    /// incomplete).
    pub fn run(&self, paths: &[PathBuf], threads: usize) -> Outcome {
        let out = Mutex::new(Outcome::default());
        let mut dirs = Vec::new();
        let mut named_seen = std::collections::HashSet::new();
        for p in paths {
            match std::fs::metadata(p) {
                Ok(m) if m.is_dir() => dirs.push(p.clone()),
                // A FIFO, socket or device would block or never end: refused, never read.
                Ok(m) if !m.is_file() => lock(&out).errors.push(InputError::Unreadable {
                    path: shown(p),
                    message: "not a regular file".into(),
                }),
                Ok(m) => {
                    // The same file named twice (or by --discover and a path) is linted once.
                    let key = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
                    if !named_seen.insert(key) {
                        continue;
                    }
                    if m.len() > size_limit(p) {
                        lock(&out).errors.push(InputError::TooLarge {
                            path: shown(p),
                            limit_mib: size_limit(p) >> 20,
                        });
                    } else {
                        self.file(p, &shown(p), true, &out);
                    }
                }
                Err(e) => lock(&out).errors.push(InputError::Unreadable {
                    path: shown(p),
                    message: e.to_string(),
                }),
            }
        }
        let seen = Mutex::new(named_seen);
        for d in dirs {
            self.walk(&d, threads, &out, &seen);
        }
        // What was parsed before the rules were ready and not yet checked (a small run can end
        // before they are).
        if !lock_vec(&self.backlog).is_empty() {
            self.ruleset();
            self.drain(&out);
        }
        let mut o = out.into_inner().unwrap_or_else(|e| e.into_inner());
        // A parser's message may quote a key or value of the file (YAML's and TOML's duplicate
        // keys do): errors pass the scan rules and the entropy check before anyone sees them.
        if !self.show_secrets {
            if let Some(ruleset) = self.ruleset() {
                for e in &mut o.errors {
                    e.redact(|t| crate::redact::redact_quoted(t, ruleset));
                }
            }
        }
        o.findings
            .sort_by(|a, b| (&a.path, a.region, a.rule).cmp(&(&b.path, b.region, b.rule)));
        o.linted.sort();
        o.errors.sort_by_key(|e| e.to_string());
        o.errors.dedup();
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
        // UTF-16 (ASCII in UTF-16 without a byte-order mark is valid UTF-8, its NULs and all,
        // and would parse as nothing): named, or with a client's name, or read as an input once
        // decoded, it is an error, never skipped.
        if utf16_order(&bytes).is_some() {
            use crate::input::{guess, Guess};
            let g = guess(path);
            let counts = g != Guess::No
                && (named
                    || matches!(g, Guess::Named(..))
                    || !matches!(Document::from_text(path, shown, lenient(&bytes)), Ok(None)));
            if counts {
                lock(out).errors.push(
                    DocumentError::Utf16 {
                        path: shown.to_owned(),
                    }
                    .into(),
                );
                return;
            }
            if g != Guess::No || named {
                if named {
                    lock(out).errors.push(InputError::NotRecognized {
                        path: shown.to_owned(),
                    });
                }
                return;
            }
        }
        // The bytes are checked for UTF-8 once: text goes straight to the parser; other bytes
        // are refused as `from_bytes` refuses them, with a lenient decoding kept for a walk.
        let (parsed, lossy) = match String::from_utf8(bytes) {
            Ok(text) => (Document::from_text(path, shown, text), None),
            Err(e) => {
                let bytes = e.into_bytes();
                let lossy = (!named).then(|| lenient(&bytes));
                (Document::from_bytes(path, shown, bytes), lossy)
            }
        };
        match parsed {
            Ok(Some(mut doc)) if doc.kind == Kind::Compose => {
                let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
                if lock_vec_set(&self.composed).insert(key) {
                    interpolate_compose(path, &mut doc, out);
                    self.follow_compose(path, &doc, out);
                    self.finish(doc, out);
                }
            }
            Ok(Some(doc)) => self.finish(doc, out),
            Ok(None) if named => {
                // A JSON, YAML or TOML file that does not parse: its error, with line and
                // column, rather than "not an input".
                let err = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|t| crate::document::named_syntax_error(path, shown, &t));
                lock(out).errors.push(match err {
                    Some(e) => e.into(),
                    None => InputError::NotRecognized {
                        path: shown.to_owned(),
                    },
                })
            }
            Ok(None) => {}
            // A file found by a walk that is not UTF-8 is not ours unless its name is a
            // client's or, decoded leniently, it reads as an input (clients decode such files).
            Err(DocumentError::NotText { .. })
                if !named
                    && !matches!(crate::input::guess(path), crate::input::Guess::Named(..))
                    && !lossy.is_some_and(|t| {
                        Document::from_text(path, shown, t).is_ok_and(|d| d.is_some())
                    }) => {}
            Err(e) => lock(out).errors.push(e.into()),
        }
    }

    /// Lints the files a compose file takes services from (`extends.file`, `include`) as
    /// compose files, whatever their names and shapes (a base file whose services have no
    /// `image` is still where `privileged: true` is written), each once; one that cannot be
    /// read makes the run incomplete, as it stops `docker compose` too.
    fn follow_compose(&self, from: &Path, doc: &Document, out: &Mutex<Outcome>) {
        let dir = from.parent().unwrap_or(Path::new(""));
        for r in doc.compose_references() {
            let p = lexical(&dir.join(&r));
            let shown = shown(&p);
            let refused = |message: String| InputError::Unreadable {
                path: shown.clone(),
                message: format!("named by `{}` (extends or include): {message}", doc.path),
            };
            let meta = match std::fs::metadata(&p) {
                Ok(m) if m.is_file() => m,
                Ok(_) => {
                    lock(out).errors.push(refused("not a regular file".into()));
                    continue;
                }
                Err(e) => {
                    lock(out).errors.push(refused(e.to_string()));
                    continue;
                }
            };
            let key = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
            if !lock_vec_set(&self.composed).insert(key) {
                continue;
            }
            if meta.len() > MAX_FILE_SIZE {
                lock(out).too_large += 1;
                lock(out).errors.push(InputError::TooLarge {
                    path: shown,
                    limit_mib: MAX_FILE_SIZE >> 20,
                });
                continue;
            }
            let text = match std::fs::read(&p) {
                Ok(b) => match String::from_utf8(b) {
                    Ok(t) => t,
                    Err(_) => {
                        lock(out)
                            .errors
                            .push(DocumentError::NotText { path: shown }.into());
                        continue;
                    }
                },
                Err(e) => {
                    lock(out).errors.push(refused(e.to_string()));
                    continue;
                }
            };
            match Document::from_text_as(&shown, text, Kind::Compose, crate::parse::Syntax::Yaml) {
                Ok(mut d) => {
                    interpolate_compose(&p, &mut d, out);
                    self.follow_compose(&p, &d, out);
                    self.finish(d, out);
                }
                Err(e) => lock(out).errors.push(e.into()),
            }
        }
    }

    fn walk(
        &self,
        root: &Path,
        threads: usize,
        out: &Mutex<Outcome>,
        seen: &Mutex<std::collections::HashSet<PathBuf>>,
    ) {
        let canon_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
        for pass in [Pass::Respecting, Pass::ClientFiles] {
            let honour = pass == Pass::Respecting;
            let mut b = ignore::WalkBuilder::new(root);
            b.hidden(false)
                .git_ignore(honour)
                .git_exclude(honour)
                .git_global(honour)
                .ignore(honour)
                .parents(honour)
                .threads(threads);
            b.filter_entry(|e| {
                !(e.file_type().is_some_and(|t| t.is_dir())
                    && e.depth() > 0
                    && NEVER_DESCEND.iter().any(|n| e.file_name() == *n))
            });
            // `[lint] exclude` is like an ignore file: it never hides a client's own file
            // (a `vigil.toml` added by a pull request cannot silence `.mcp.json`).
            if honour && !self.settings.exclude.is_empty() {
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
                    // The scan rules' configuration was refused: the run fails, stop reading.
                    if self.refused_yet() {
                        return ignore::WalkState::Quit;
                    }
                    match entry {
                        Ok(e) => self.entry(&e, pass, root, &canon_root, out, seen),
                        // A folder the ignore files hide and the user cannot read (a
                        // database volume owned by its container) is not reported: only the
                        // first pass, which honours the ignore files, must see everything.
                        Err(_) if pass == Pass::ClientFiles => {}
                        Err(e) => {
                            let message = walk_message(&e);
                            lock(out).errors.push(InputError::Walk { message });
                        }
                    }
                    ignore::WalkState::Continue
                })
            });
        }
    }

    fn entry(
        &self,
        e: &ignore::DirEntry,
        pass: Pass,
        root: &Path,
        canon_root: &Path,
        out: &Mutex<Outcome>,
        seen: &Mutex<std::collections::HashSet<PathBuf>>,
    ) {
        use crate::input::{guess, Guess};
        let p = e.path();
        let g = guess(p);
        let Some(ft) = e.file_type() else { return };
        if g == Guess::No && !ft.is_symlink() {
            return;
        }
        if pass == Pass::ClientFiles && !matches!(g, Guess::Named(..)) {
            return;
        }
        // The second pass meets again every client file the first one linted: known by its
        // path alone (see below), it costs no system call.
        if pass == Pass::ClientFiles && !ft.is_symlink() {
            if let Ok(rel) = p.strip_prefix(root) {
                let s = seen.lock().unwrap_or_else(|e| e.into_inner());
                if s.contains(&canon_root.join(rel)) {
                    return;
                }
            }
        }
        let shown = shown(p);
        let meta = if ft.is_symlink() {
            // Walks do not follow links; what a link points to is linted under the link's name
            // when it is a file, and a link to a folder outside the walk is reported.
            match std::fs::metadata(p) {
                Ok(m) if m.is_dir() => {
                    let inside = std::fs::canonicalize(p).is_ok_and(|t| t.starts_with(canon_root));
                    if !inside && pass == Pass::Respecting {
                        lock(out).errors.push(InputError::Unreadable {
                            path: shown,
                            message: "symbolic link to a folder outside the walk; not followed (lint its target by name)".into(),
                        });
                    }
                    return;
                }
                // A link to a file outside the walk (a runner's `~/.claude.json`,
                // `/proc/self/environ`) is not read: the run is incomplete.
                Ok(m) if m.is_file() && g != Guess::No => {
                    let inside = std::fs::canonicalize(p).is_ok_and(|t| t.starts_with(canon_root));
                    if !inside {
                        lock(out).errors.push(InputError::Unreadable {
                            path: shown,
                            message: "symbolic link to a file outside the walk; not followed (lint its target by name)".into(),
                        });
                        return;
                    }
                    m
                }
                Ok(_) if g == Guess::No => return,
                Ok(_) => {
                    lock(out).errors.push(InputError::Unreadable {
                        path: shown,
                        message: "symbolic link to something that is not a file".into(),
                    });
                    return;
                }
                Err(err) if g != Guess::No => {
                    lock(out).errors.push(InputError::Unreadable {
                        path: shown,
                        message: format!("symbolic link: {err}"),
                    });
                    return;
                }
                Err(_) => return,
            }
        } else if ft.is_file() {
            match e.metadata() {
                Ok(m) => m,
                Err(err) => {
                    lock(out).errors.push(InputError::Unreadable {
                        path: shown,
                        message: err.to_string(),
                    });
                    return;
                }
            }
        } else {
            // A FIFO, socket or device whose name or extension says input: never read (it
            // could block), never skipped silently.
            if g != Guess::No && !ft.is_dir() {
                lock(out).errors.push(InputError::Unreadable {
                    path: shown,
                    message: "not a regular file".into(),
                });
            }
            return;
        };
        {
            // Each file once: named on the command line, reached by two walks, or by a link.
            // A walk follows no link, so below the root every folder on the way is a real one:
            // a file that is not a link is at the canonical root joined with its path under the
            // root, with no system call (`canonicalize` resolves every component).
            let canon = if ft.is_symlink() {
                std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned())
            } else {
                match p.strip_prefix(root) {
                    Ok(rel) => canon_root.join(rel),
                    Err(_) => std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned()),
                }
            };
            let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
            if !s.insert(canon) {
                return;
            }
        }
        if meta.len() > size_limit(p) {
            // Oversize: an error when the file could be an input (its name says so, or it
            // holds a marker of one); other big files (data, bundles) are not ours.
            if matches!(g, Guess::Named(..)) || holds_marker(p) {
                lock(out).too_large += 1;
                lock(out).errors.push(InputError::TooLarge {
                    path: shown,
                    limit_mib: size_limit(p) >> 20,
                });
            }
            return;
        }
        self.file(p, &shown, false, out);
    }
}

/// The two passes of a walk: everything the ignore files allow, then the clients' own files
/// (matched by name) that the ignore files hide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Respecting,
    ClientFiles,
}

/// A walker's error, its path shown as files are (`sub`, not `./sub`).
fn walk_message(e: &ignore::Error) -> String {
    match e {
        ignore::Error::WithDepth { err, .. } => walk_message(err),
        ignore::Error::WithPath { path, err } => format!("{}: {err}", shown(path)),
        e => e.to_string(),
    }
}

/// Files larger than this are not linted: [`MAX_CLIENT_FILE_SIZE`] for a client's own file
/// (a long-used `~/.claude.json` grows), [`MAX_FILE_SIZE`] for the rest.
fn size_limit(p: &Path) -> u64 {
    if matches!(crate::input::guess(p), crate::input::Guess::Named(..)) {
        MAX_CLIENT_FILE_SIZE
    } else {
        MAX_FILE_SIZE
    }
}

/// Whether a (large) file holds any of the words that make a file an input, read in chunks.
fn holds_marker(p: &Path) -> bool {
    use std::io::Read as _;
    const WORDS: &[&str] = &[
        "mcpServers",
        "mcp_servers",
        "context_servers",
        "servers",
        "modelContextProtocolServers",
        "inputSchema",
        "tools",
        "services",
        "intents",
        "Intents",
        "permissions",
        "discord",
        "Discord",
        "DISCORD",
        "INTENTS",
        "PERMISSIONS",
    ];
    let Ok(mut f) = std::fs::File::open(p) else {
        return true;
    };
    let finders: Vec<memchr::memmem::Finder<'_>> = WORDS
        .iter()
        .map(|w| memchr::memmem::Finder::new(w.as_bytes()))
        .collect();
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0usize;
    loop {
        let n = match f.read(&mut buf[carry..]) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(_) => return true,
        };
        let filled = carry + n;
        if finders.iter().any(|f| f.find(&buf[..filled]).is_some()) {
            return true;
        }
        // Keep the tail so a word split across reads is still seen.
        let keep = filled.min(32);
        buf.copy_within(filled - keep..filled, 0);
        carry = keep;
    }
}

/// Whether bytes are UTF-16, and little-endian: a byte-order mark, or ASCII in UTF-16 shape (a
/// NUL in at least a third of an even number of bytes).
fn utf16_order(bytes: &[u8]) -> Option<bool> {
    match bytes {
        [0xFF, 0xFE, ..] => Some(true),
        [0xFE, 0xFF, ..] => Some(false),
        _ if bytes.len() >= 4 && bytes.len().is_multiple_of(2) => {
            let nuls = memchr::memchr_iter(0, bytes).count();
            (nuls * 3 >= bytes.len()).then(|| {
                let odd_nuls = bytes.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
                odd_nuls * 2 >= nuls
            })
        }
        _ => None,
    }
}

/// Text decoded as a client might: UTF-16 (with a byte-order mark, or ASCII in UTF-16 shape),
/// else UTF-8 with replacement characters.
fn lenient(bytes: &[u8]) -> String {
    if let Some(le) = utf16_order(bytes) {
        let units = bytes.chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        return char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .filter(|c| *c != '\u{feff}')
            .collect();
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// `vigil scan`'s rules over a document's text, placed on it.
fn scan(ruleset: &Ruleset, doc: &Document) -> Vec<ScanHit> {
    let mut found = Vec::new();
    ruleset.scan_bytes(&doc.path, None, doc.text.as_bytes(), &mut found);
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

/// Resolves a compose file's `${VAR}` references in its container fields from the `.env`
/// beside it, as `docker compose` does (the shell's environment is not read: the result would
/// depend on who runs the lint). A `.env` that cannot be read or parsed makes the run
/// incomplete, as it stops `docker compose` too (black-box tester, session 14 round 10: F5).
fn interpolate_compose(path: &Path, doc: &mut Document, out: &Mutex<Outcome>) {
    let env = path.parent().unwrap_or(Path::new("")).join(".env");
    match std::fs::metadata(&env) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            lock(out).errors.push(InputError::Unreadable {
                path: shown(&env),
                message: format!(
                    "not a regular file (read for `{}`'s interpolation)",
                    doc.path
                ),
            });
            return;
        }
        // No `.env`: defaults still apply (`${PRIV:-true}` is true).
        Err(_) => return crate::compose_env::interpolate(&mut doc.root, &|_| None),
    }
    match vigil_env::envfile::load(&env) {
        Ok(vars) => {
            crate::compose_env::interpolate(&mut doc.root, &|n| vars.get(n).map(str::to_owned))
        }
        Err(e) => lock(out).errors.push(InputError::Unreadable {
            path: doc.path.clone(),
            message: format!("its `.env` (read for interpolation): {e}"),
        }),
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

fn lock_vec_set(
    m: &Mutex<std::collections::HashSet<PathBuf>>,
) -> std::sync::MutexGuard<'_, std::collections::HashSet<PathBuf>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `p` with `.` and `..` resolved as text (`a/../base.yml` is `base.yml`), for showing.
fn lexical(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

fn lock_vec<T>(m: &Mutex<Vec<T>>) -> std::sync::MutexGuard<'_, Vec<T>> {
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
                // The tool's line (column 1), or the file when the lock does not name it.
                region: if line > 0 {
                    (line, 1, line, 1)
                } else {
                    (0, 0, 0, 0)
                },
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
    // Pinned servers this run did not see: gone, or renamed (a snapshot saved under another
    // file name, a server renamed in a manifest).
    let mut gone: Vec<&str> = lock
        .servers
        .keys()
        .map(String::as_str)
        .filter(|s| !by_server.contains_key(s))
        .collect();
    let mut renamed: Vec<&str> = Vec::new();
    for (seen_as, list) in &by_server {
        let json: Vec<serde_json::Value> = list.iter().map(|t| t.json.clone()).collect();
        // A server the lock does not know whose tools overlap a pinned server that is gone is
        // that server under a new name: compare it with its pins, so a rename cannot turn a
        // changed tool into an "added" one.
        let mut server: &str = seen_as;
        if !lock.servers.contains_key(*seen_as) {
            let overlaps = |g: &&str| {
                lock.servers[*g]
                    .tools
                    .keys()
                    .any(|t| list.iter().any(|x| &x.name == t))
            };
            if let Some(i) = gone.iter().position(overlaps) {
                server = gone.remove(i);
                renamed.push(server);
            } else if let Some(g) = renamed.iter().copied().find(overlaps) {
                // A second copy of a renamed server (`a.json` and `b.json` both saved from the
                // pinned `tools.json`): compared with the same pins.
                server = g;
            }
        }
        let server_shown = if server == *seen_as {
            format!("`{server}`")
        } else {
            format!("`{seen_as}` (pinned as `{server}`)")
        };
        for c in lock.compare(server, &json) {
            match c {
                Change::Changed { tool, fields } => {
                    let t = list.iter().find(|t| t.name == tool).expect("seen");
                    // A pin without field hashes (an edited lock's `"fields": {}`) cannot say
                    // which field changed: every field "differs" from nothing.
                    let fields = if lock
                        .servers
                        .get(server)
                        .and_then(|s| s.tools.get(&tool))
                        .is_some_and(|p| p.fields.is_empty())
                    {
                        Vec::new()
                    } else {
                        fields
                    };
                    push(
                        "tool-changed",
                        &t.path,
                        t.line,
                        format!("{server}.{tool}"),
                        if fields.is_empty() {
                            // The tool's hash differs but no field's does: the lock itself was
                            // edited (or is corrupt), which is no less a change to review.
                            format!(
                                "tool `{tool}` of {server_shown} does not match its pin: the pinned hash differs although no pinned field hash says which field changed (the lock was edited or is corrupt)"
                            )
                        } else {
                            format!(
                                "tool `{tool}` of {server_shown} changed since it was pinned ({})",
                                fields.join(", ")
                            )
                        },
                    );
                }
                Change::Added { tool } => {
                    let t = list.iter().find(|t| t.name == tool).expect("seen");
                    push(
                        "tool-added",
                        &t.path,
                        t.line,
                        format!("{server}.{tool}"),
                        format!("tool `{tool}` of {server_shown} is not pinned in {lock_path}"),
                    );
                }
                Change::Removed { tool } => {
                    push(
                        "tool-removed",
                        lock_path,
                        line_in_lock(&tool),
                        format!("{server}.{tool}"),
                        format!("pinned tool `{tool}` of {server_shown} is no longer offered"),
                    );
                }
            }
        }
    }
    for server in gone {
        for tool in lock.servers[server].tools.keys() {
            push(
                "tool-removed",
                lock_path,
                line_in_lock(tool),
                format!("{server}.{tool}"),
                format!(
                    "pinned tool `{tool}` of `{server}` was not seen: no linted snapshot or manifest offers server `{server}` any more"
                ),
            );
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
        .map(|s| crate::redact::redact_builtin(&format!("{} {} → {}", s.what, s.url, s.outcome)))
        .collect();
    let trusted = url::Url::parse(&obs.url)
        .ok()
        .and_then(|u| u.host_str().map(|h| settings.is_trusted_host(h)))
        .unwrap_or(false);
    crate::probe::judge(obs)
        .into_iter()
        .filter(|(id, _)| settings.enabled(id))
        // Plain HTTP to loopback (or an allowed host) is accepted offline too.
        .filter(|(id, _)| !(trusted && *id == "probe-plaintext"))
        .map(|(id, message)| {
            let rule = rules::find(id).expect("probe rule");
            Finding {
                rule: rule.id,
                severity: settings.severity_of(id, rule.severity),
                path: crate::redact::redact_builtin(&obs.url),
                region: (0, 0, 0, 0),
                key: None,
                // The server's answers are quoted (an echoed `Access-Control-Allow-Origin`):
                // token-like words in them are masked too.
                message: crate::redact::redact_quoted_builtin(&message),
                secret: None,
                properties: vec![("requests".into(), requests.join("; "))],
            }
        })
        .collect()
}

/// Why the tools of a run cannot be pinned or compared unambiguously: one server name offered
/// by two inputs (two snapshots saved as `tools.json` in different folders), or one tool name
/// offered twice by one server. Pins are per server and tool name, so either would record one
/// of the two and compare the other against it. `None` when every (server, tool) is one tool.
pub fn pin_ambiguity(tools: &[SeenTool]) -> Option<String> {
    let mut files: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    let mut names: std::collections::HashMap<(&str, &str), &SeenTool> =
        std::collections::HashMap::new();
    for t in tools {
        let first = *files.entry(t.server.as_str()).or_insert(t.path.as_str());
        if first != t.path {
            return Some(format!(
                "server `{}` is offered by both {first} and {}: its pins would be ambiguous; pin each with its own lock file, or name the servers apart (a snapshot's `server` key)",
                t.server, t.path
            ));
        }
        if let Some(other) = names.insert((t.server.as_str(), t.name.as_str()), t) {
            return Some(format!(
                "{}:{}: tool `{}` of server `{}` is offered twice (also on line {}): its pin would be ambiguous",
                t.path, t.line, t.name, t.server, other.line
            ));
        }
    }
    None
}

/// A tools lock file recording `tools` (what `vigil lint --pin` writes), one entry per server.
pub fn lock_of(tools: &[SeenTool]) -> crate::pin::LockFile {
    let mut lock = crate::pin::LockFile::new();
    let mut servers: std::collections::BTreeMap<&str, Vec<serde_json::Value>> =
        std::collections::BTreeMap::new();
    for t in tools {
        servers
            .entry(t.server.as_str())
            .or_default()
            .push(t.json.clone());
    }
    for (s, list) in servers {
        lock.record(s, &list);
    }
    lock
}

/// `lock` updated with this run's tools (`--update-pins`): every server seen is recorded as
/// seen, and a pinned server that this run saw under a new name (one the lock did not know,
/// whose tools overlap it, as [`pin_findings`] reads a rename) is dropped, so the old name does
/// not report its tools `tool-removed` ever after.
pub fn updated_lock(lock: &crate::pin::LockFile, tools: &[SeenTool]) -> crate::pin::LockFile {
    let fresh = lock_of(tools);
    let mut new = lock.clone();
    let mut gone: Vec<String> = lock
        .servers
        .keys()
        .filter(|s| !fresh.servers.contains_key(*s))
        .cloned()
        .collect();
    for (server, pins) in &fresh.servers {
        if !lock.servers.contains_key(server) {
            let overlaps = |g: &String| {
                lock.servers[g]
                    .tools
                    .keys()
                    .any(|t| pins.tools.contains_key(t))
            };
            if let Some(i) = gone.iter().position(overlaps) {
                new.servers.remove(&gone.remove(i));
            }
        }
        // The server's approval count stays (a gateway's holds on its tools last until an
        // approval of its listing counts one more: recording pins here releases none).
        let mut pins = pins.clone();
        pins.approval = lock.servers.get(server).map_or(0, |p| p.approval);
        new.servers.insert(server.clone(), pins);
    }
    new
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
                list.iter()
                    .filter_map(|o| plain_origin(o))
                    .map(|o| (url.to_owned(), o)),
            );
        }
    }
    out
}

/// `allow_origin` as the probe may send it in an `Origin` header: `scheme://host[:port]`
/// of an http(s) URL with no user name, password, path (but `/`), query or fragment. Anything
/// else (`*`, `null`, a pattern, a bare word, `https://user:pw@app/`, `https://app/?token=…`)
/// is no origin to send, and the probe sends none: what it would send could carry a
/// credential (black-box tester, session 14 round 9: F2).
pub fn plain_origin(allowed: &str) -> Option<String> {
    let t = allowed.trim();
    if t.contains(['*', '@', '?', '#', '\\']) || t.bytes().any(|b| b <= b' ') {
        return None;
    }
    let u = url::Url::parse(t).ok()?;
    let plain = matches!(u.scheme(), "http" | "https")
        && u.host_str().is_some()
        && u.username().is_empty()
        && u.password().is_none()
        && u.path() == "/"
        && u.query().is_none()
        && u.fragment().is_none()
        // A host label that reads as a random token (a tenant key put in a subdomain) is not
        // sent either (black-box tester, session 14 round 10: F8).
        && !u.host_str().is_some_and(random_host);
    plain.then(|| u.origin().ascii_serialization())
}

/// Whether a host name carries a random token: in one label, or split over the labels before
/// the registrable name (`i5bvb3op9.5ddngapz3.mcll5bp8i.example.com`) (black-box tester,
/// session 15 round 11: F12).
fn random_host(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let sub = &labels[..labels.len().saturating_sub(2)];
    labels.iter().any(|l| crate::secrets::looks_random(l))
        || (sub.len() > 1 && crate::secrets::looks_random(&sub.concat()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tester 148, F19: `--update-pins` keeps each server's approval count (a gateway's holds
    /// last until it goes up) and the servers it did not see.
    #[test]
    fn updating_pins_keeps_the_approval_counts_and_other_servers() {
        let seen = |server: &str, desc: &str| SeenTool {
            server: server.into(),
            name: "read_file".into(),
            json: serde_json::json!({"name": "read_file", "description": desc}),
            path: "mcp.json".into(),
            line: 1,
        };
        let mut lock = lock_of(&[seen("fs", "Read a file"), seen("git", "Read a blob")]);
        lock.servers.get_mut("fs").unwrap().approval = 3;
        let new = updated_lock(&lock, &[seen("fs", "Read a file, changed")]);
        assert_eq!(new.servers["fs"].approval, 3);
        assert_ne!(new.servers["fs"], lock.servers["fs"]);
        assert!(new.servers.contains_key("git"));
    }

    /// More files than the backlog holds, parsed while the scan rules compile: every one is
    /// linted once, with its finding, whether it was checked at once, kept, or waited for.
    #[test]
    fn listed_servers_named_by_a_yaml_boolean_or_number_keep_their_name() {
        let linter = Linter::new(Settings::default());
        let text = "mcpServers:\n  - name: x\n    url: http://mcp.example.com/a\n  - name: y\n    url: http://mcp.example.com/b\n  - name: 42\n    url: http://mcp.example.com/c\n";
        let (_, findings, _) = linter
            .lint_text(Path::new(".continue/config.yaml"), text)
            .unwrap()
            .unwrap();
        let names: Vec<&str> = findings
            .iter()
            .filter(|f| f.rule == "remote-without-auth")
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        for n in ["`x`", "`y`", "`42`"] {
            assert!(names.iter().any(|m| m.contains(n)), "{n}: {names:?}");
        }
        assert!(!names.iter().any(|m| m.contains('#')), "{names:?}");
    }

    #[test]
    fn only_plain_origins_are_sent() {
        let t = ["Zk3j9QpL2mX8vB7n", "R4tY6wE1sD0fG5hJ3kL9"].concat();
        assert_eq!(
            plain_origin("https://app.example.com").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            plain_origin("http://App.Example.com:8080/").as_deref(),
            Some("http://app.example.com:8080")
        );
        for ok in [
            "https://api.eu-west-1.prod.example.com",
            "https://app.staging.internal.example.com",
            "https://web2.cdn3.example.com",
        ] {
            assert_eq!(plain_origin(ok).as_deref(), Some(ok), "{ok}");
        }
        for bad in [
            format!("https://admin:{t}@app.example.com"),
            format!("https://{t}@app.example.com"),
            format!("https://app.example.com/?token={t}"),
            format!("https://app.example.com/{t}"),
            format!("https://app.example.com/#{t}"),
            t.clone(),
            "*".to_owned(),
            "null".to_owned(),
            "https://*.example.com".to_owned(),
            "file:///etc".to_owned(),
            format!("https://{}.example.com", t.to_ascii_lowercase()),
            "https://i5bvb3op9.5ddngapz3.mcll5bp8i.example.com".to_owned(),
        ] {
            assert_eq!(plain_origin(&bad), None, "{bad}");
        }
    }

    #[test]
    fn files_parsed_while_the_rules_compile_are_all_checked() {
        let dir = std::env::temp_dir().join(format!("vigil-lint-backlog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let n = BACKLOG_MAX + 200;
        for i in 0..n {
            let d = dir.join(format!("p{i:04}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join(".mcp.json"),
                format!(
                    "{{\"mcpServers\": {{\"s{i}\": {{\"type\": \"http\", \"url\": \"http://mcp{i}.example.com/mcp\", \"headers\": {{\"Authorization\": \"Bearer ${{TOKEN}}\"}}}}}}}}"
                ),
            )
            .unwrap();
        }
        for threads in [1, 2] {
            let out = Linter::new(Settings::default()).run(std::slice::from_ref(&dir), threads);
            assert!(out.errors.is_empty(), "{:?}", out.errors);
            assert_eq!(out.linted.len(), n);
            let plain: std::collections::BTreeSet<&str> = out
                .findings
                .iter()
                .filter(|f| f.rule == "plaintext-transport")
                .map(|f| f.path.as_str())
                .collect();
            assert_eq!(plain.len(), n, "threads {threads}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
