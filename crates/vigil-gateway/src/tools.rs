//! What the gateway knows of each upstream's tools, and the MCP-aware checks built on it.
//!
//! - **Catalog.** One view per route (not per client session): the gateway asks the upstream
//!   for `tools/list` itself ([`fetch`]: its own MCP session when the protocol needs one, the
//!   route's upstream credentials, every page by `nextCursor`), keeps it for `tools_ttl`, and
//!   fetches again sooner when a `notifications/tools/list_changed` passes in the traffic or a
//!   client's `tools/list` answer shows a definition the view does not hold. Each version of
//!   the view compiles every tool's `inputSchema` once and compares every tool with its pin.
//! - **Per-tool scopes** (`[[gateway.routes.tools]]`): checked per `tools/call` against the
//!   token's `scope`; `tools/list` answers (JSON or SSE) lose the tools the token may not call.
//! - **Argument validation** (`[gateway.validation]`): JSON Schema (2020-12 unless the schema
//!   declares draft-07 …) by the `jsonschema` crate, offline (no `$ref` is ever fetched),
//!   regexes bounded; a refusal names the failing path and keyword, never the value.
//! - **Pinning** (`pins = "tools.lock"`): a tool whose definition is not the pinned one (or
//!   that is new) is hidden and refused (`enforce`) or shown with an alert (`alert`).
//!
//! None of it runs on a route that sets none of these: the request stage returns at once.

use crate::config::{PinMode, Pinning, Route, ValidationMode};
use crate::rewrite::{Action, Hook, RequestInfo};
use arc_swap::ArcSwapOption;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use vigil_core::pin::LockFile;

/// Pages of `tools/list` followed at most.
const MAX_PAGES: usize = 100;
/// The largest answer read while fetching.
const MAX_ANSWER: u64 = 8 << 20;
/// Deepest arguments (objects and arrays) validated; deeper ones are refused.
const MAX_DEPTH: usize = 64;
/// The protocol version the gateway's own session asks for.
const SESSION_VERSION: &str = "2025-11-25";
/// The sessionless protocol version tried when an upstream refuses `initialize`.
const SESSIONLESS_VERSION: &str = "2026-07-28";

/// Why the upstream's tools could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The request failed (connection, timeout).
    #[error("{0}")]
    Http(String),
    /// The upstream answered with an HTTP error.
    #[error("the upstream answered {0}")]
    Status(u16),
    /// The answer is not the JSON-RPC result asked for.
    #[error("the upstream's answer is not a JSON-RPC result: {0}")]
    Answer(String),
    /// More pages than the gateway follows.
    #[error("more than {MAX_PAGES} pages of tools")]
    TooManyPages,
}

/// Why a tool's `inputSchema` cannot be used (its calls are refused in enforce mode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The tool lists no `inputSchema`.
    #[error("the tool has no inputSchema")]
    Missing,
    /// Nested deeper than the gateway reads.
    #[error("the inputSchema is nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// `jsonschema` refused it (the keyword that failed).
    #[error("the inputSchema does not compile ({0})")]
    Compile(String),
}

/// What a tool's definition is to its pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinState {
    /// No pinning on the route, or the definition is the pinned one.
    Pinned,
    /// Not in the lock file.
    New,
    /// In it with another definition; the fields that differ.
    Changed(Vec<String>),
}

/// One tool the catalog knows.
pub struct Known {
    /// Its definition as the upstream listed it.
    pub def: Value,
    /// `sha256:` of its canonical pinned JSON.
    pub hash: String,
    /// Its compiled `inputSchema` (`None` when validation is off), or why it did not compile.
    pub schema: Option<Result<jsonschema::Validator, SchemaError>>,
    /// What it is to its pin.
    pub pin: PinState,
}

/// One version of an upstream's tools.
pub struct ToolSet {
    /// Sets versions apart.
    pub version: u64,
    /// When it was fetched.
    pub fetched: Instant,
    /// The tools by name (a name the upstream lists more than once is not among them).
    pub tools: HashMap<String, Known>,
    /// Names the upstream lists more than once: which definition it runs cannot be told, so
    /// none is known, none shown, and their calls are refused where the checks enforce.
    pub twice: std::collections::BTreeSet<String>,
    /// The lock file its pin states were computed with.
    lock: Option<Arc<(Option<FileStamp>, LockFile)>>,
}

/// What tells one version of a file from another without reading it: its modification and
/// change times (the change time no copy or `touch` can set back), size, device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp([i64; 7]);

impl FileStamp {
    /// The stamp of a file's metadata.
    pub fn of(m: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt as _;
        let int = |n: u64| i64::from_ne_bytes(n.to_ne_bytes());
        FileStamp([
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
            int(m.size()),
            int(m.dev()),
            int(m.ino()),
        ])
    }
}

/// The lock file of a route as last read, and when it was written.
struct Pins {
    config: Pinning,
    lock: ArcSwapOption<Looked>,
    /// The lock file's folder's watch: a call looks at the file (`stat`) only when it changed.
    watch: crate::watch::Watched,
}

/// The lock file as a look found it, and the watch's mark the look was made under.
struct Looked {
    lock: Arc<(Option<FileStamp>, LockFile)>,
    mark: Option<crate::watch::Mark>,
}

impl Pins {
    /// The lock file, read again when it changed (an approval): its modification and change
    /// times, size or file (a copy that keeps the modification time, `cp -p`, is still seen).
    /// Looked at (`stat`) when the folder's watch says it may have changed, and once a second.
    fn current(&self) -> Arc<(Option<FileStamp>, LockFile)> {
        // Taken before the look: a change after it moves the mark.
        let mark = self.watch.mark();
        let last = self.lock.load_full();
        if let (Some(l), Some(m)) = (&last, mark) {
            if l.mark == Some(m) {
                return l.lock.clone();
            }
        }
        let mtime = std::fs::metadata(&self.config.path)
            .ok()
            .map(|m| FileStamp::of(&m));
        let mark = self.watch.vouch(mark);
        if let Some(l) = last {
            if l.lock.0 == mtime {
                if l.mark != mark {
                    self.lock.store(Some(Arc::new(Looked {
                        lock: l.lock.clone(),
                        mark,
                    })));
                }
                return l.lock.clone();
            }
        }
        let lock = match LockFile::load(&self.config.path) {
            Ok(l) => l.unwrap_or_default(),
            Err(e) => {
                // Fail closed: a lock file that cannot be read pins nothing (every tool is new).
                tracing::warn!(file = %self.config.path.display(), error = %e, "tool pins unreadable");
                LockFile::new()
            }
        };
        let l = Arc::new((mtime, lock));
        self.lock.store(Some(Arc::new(Looked {
            lock: l.clone(),
            mark,
        })));
        l
    }

    fn state(&self, lock: &LockFile, name: &str, def: &Value, hash: &str) -> PinState {
        let pinned = lock
            .servers
            .get(&self.config.server)
            .and_then(|s| s.tools.get(name));
        match pinned {
            None => PinState::New,
            Some(p) if p.hash == hash => PinState::Pinned,
            Some(_) => match lock
                .compare(&self.config.server, std::slice::from_ref(def))
                .pop()
            {
                Some(vigil_core::pin::Change::Changed { fields, .. }) => PinState::Changed(fields),
                _ => PinState::Changed(Vec::new()),
            },
        }
    }
}

/// The gateway's view of one route's upstream tools.
pub struct Catalog {
    route: usize,
    ttl: Duration,
    validation: ValidationMode,
    view: ArcSwapOption<ToolSet>,
    /// A `list_changed` was seen: the next use waits for a fresh view.
    stale: AtomicBool,
    /// A background refresh is running.
    refreshing: AtomicBool,
    /// One fetch at a time.
    fetch: tokio::sync::Mutex<()>,
    pins: Option<Pins>,
    versions: AtomicU64,
    /// When the last fetch failed (no retry within a second: requests do not queue on an
    /// upstream that is down).
    failed: Mutex<Option<Instant>>,
    /// The lock file version the view's pin states were computed with.
    alerted: Mutex<std::collections::HashSet<(String, String)>>,
    /// Tools a client's listing gave with a definition that is not the approved one (or
    /// twice), whatever the gateway's own fetch got (an upstream may answer the gateway and
    /// its clients differently, or one page and the next): their calls are refused until the
    /// server's listing is approved again.
    /// Shared by every route pinning to the same server of the same lock file, and kept
    /// beside it ([`crate::holds`]).
    holds: Option<Arc<crate::holds::Holds>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("route", &self.route)
            .finish()
    }
}

/// The tool definitions alerted on that a catalog remembers (past it, it forgets them all).
const MAX_ALERTED: usize = 4096;

/// Whether a route needs a catalog: it pins tools, or arguments are validated.
pub fn needs_catalog(route: &Route, validation: ValidationMode) -> bool {
    route.pins.is_some() || validation != ValidationMode::Off
}

impl Catalog {
    /// The catalog of `route`.
    pub fn new(route: &Route, ttl: Duration, validation: ValidationMode) -> Self {
        Catalog {
            route: route.index,
            ttl,
            validation,
            view: ArcSwapOption::empty(),
            stale: AtomicBool::new(false),
            refreshing: AtomicBool::new(false),
            fetch: tokio::sync::Mutex::new(()),
            pins: route.pins.clone().map(|config| Pins {
                watch: crate::watch::Watched::new(&config.path),
                config,
                lock: ArcSwapOption::empty(),
            }),
            versions: AtomicU64::new(1),
            failed: Mutex::new(None),
            alerted: Mutex::new(Default::default()),
            holds: route
                .pins
                .as_ref()
                .map(|p| crate::holds::Holds::shared(&p.path, &p.server)),
        }
    }

    /// The route's server's approval count in `lock`.
    fn approval(&self, lock: &LockFile) -> u64 {
        self.pins
            .as_ref()
            .map_or(0, |p| lock.approval(&p.config.server))
    }

    /// Takes up the holds kept beside the route's lock file ([`crate::holds::held_path`]) that
    /// were made under the server's approval as it is now.
    pub fn restore_holds(&self) -> Result<(), crate::holds::HeldError> {
        match (&self.holds, self.lock()) {
            (Some(h), Some(lock)) => h.restore(self.approval(&lock.1)),
            _ => Ok(()),
        }
    }

    /// Remembers that a client's listing gave tool `name` with a definition not approved, or
    /// gave it twice: its calls are held until the server's listing is approved again.
    pub fn shown_unapproved(&self, name: &str) {
        if let (Some(h), Some(lock)) = (&self.holds, self.lock()) {
            h.hold(name, self.approval(&lock.1));
        }
    }

    /// One `tool_changed` alert for the tools a client's listing gave unapproved (name and
    /// definition hash, none when given twice) that were not alerted before (once per
    /// definition): one alert per listing, however many tools it gave, so an upstream cannot
    /// bury the alert channel.
    pub fn alert_given(&self, gw: Option<&crate::Gateway>, given: &[(String, String)]) {
        let (Some(pins), Some(gw)) = (&self.pins, gw) else {
            return;
        };
        if given.is_empty() {
            return;
        }
        let new: Vec<&str> = {
            let mut fired = self.alerted.lock().unwrap_or_else(|e| e.into_inner());
            // An upstream may give every listing another definition: the memory is bounded
            // (alerts are rate-limited besides).
            if fired.len() + given.len() > MAX_ALERTED {
                fired.clear();
            }
            given
                .iter()
                .filter(|(name, hash)| fired.insert((name.clone(), format!("shown:{hash}"))))
                .map(|(name, _)| name.as_str())
                .collect()
        };
        if !new.is_empty() {
            gw.alerts.tools_given(
                &pins.config.server,
                &new,
                pins.config.mode == PinMode::Enforce,
            );
        }
    }

    /// Writes the holds a listing made beside the lock file, before the listing goes on.
    pub fn flush_holds(&self) {
        if let Some(h) = &self.holds {
            h.flush();
        }
    }

    /// Whether a client's listing gave tool `name` unapproved since the server's listing was
    /// last approved.
    pub fn shown_unpinned(&self, name: &str) -> bool {
        let Some(h) = &self.holds else { return false };
        h.refresh(|| self.lock().map_or(0, |l| self.approval(&l.1)));
        if h.is_empty() {
            return false;
        }
        self.lock()
            .is_some_and(|lock| h.held(name, self.approval(&lock.1)))
    }

    /// The view to judge a call of a tool `v` does not list by: when `v` is older than
    /// [`UNLISTED_REFETCH`], the upstream's tools fetched again first (an upstream that adds a
    /// tool without `notifications/tools/list_changed` had its calls refused as unknown until
    /// `tools_ttl`; tester 158), else `v`. So a client calling names that do not exist costs
    /// the upstream one listing per route every two seconds at most, and a failed listing
    /// leaves the view as it was.
    pub async fn for_unlisted(
        self: &Arc<Self>,
        gw: &Arc<crate::Gateway>,
        v: Arc<ToolSet>,
    ) -> Option<Arc<ToolSet>> {
        if v.fetched.elapsed() < UNLISTED_REFETCH || self.failed_within(UNLISTED_REFETCH) {
            return Some(v);
        }
        let _one = self.fetch.lock().await;
        // Another call fetched while this one waited.
        if let Some(now) = self.view.load_full() {
            if now.version != v.version {
                return Some(self.repin(now, gw));
            }
        }
        if self.failed_within(UNLISTED_REFETCH) {
            return Some(v);
        }
        // A fetch this call asked for on a guess: when it fails, the view read before stands
        // (review: a client naming tools that do not exist, with an upstream that limits its
        // listings, turned every call of the route into a 503 until a fetch succeeded).
        let was_stale = self.stale.load(Ordering::Acquire);
        self.refresh_locked(gw).await;
        if !was_stale {
            self.stale.store(false, Ordering::Release);
        }
        self.view.load_full().map(|now| self.repin(now, gw))
    }

    /// Whether the last fetch failed less than `d` ago.
    fn failed_within(&self, d: Duration) -> bool {
        self.failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|t| t.elapsed() < d)
    }

    /// The view should be fetched again before it is used next.
    pub fn invalidate(&self) {
        self.stale.store(true, Ordering::Release);
    }

    /// The view as it is now, without fetching (`None` before the first fetch).
    pub fn current(&self) -> Option<Arc<ToolSet>> {
        self.view.load_full()
    }

    /// The route's lock file as now on disk (`None` without pinning).
    pub fn lock(&self) -> Option<Arc<(Option<FileStamp>, LockFile)>> {
        self.pins.as_ref().map(Pins::current)
    }

    /// The pin state of `def` (whose [`vigil_core::pin::tool_hash`] is `hash`) under `lock`.
    pub fn pin_state(&self, lock: &LockFile, def: &Value, hash: &str) -> PinState {
        match (&self.pins, vigil_core::pin::tool_name(def)) {
            (Some(p), Some(name)) => p.state(lock, name, def, hash),
            _ => PinState::Pinned,
        }
    }

    /// Whether pinning enforces (hides and refuses).
    pub fn pins_enforce(&self) -> bool {
        self.pins
            .as_ref()
            .is_some_and(|p| p.config.mode == PinMode::Enforce)
    }

    /// The current view: fetched now when there is none or a `list_changed` made it stale,
    /// fetched in the background when its time to live ran out. `None` when the upstream's tools
    /// cannot be read.
    pub async fn view(self: &Arc<Self>, gw: &Arc<crate::Gateway>) -> Option<Arc<ToolSet>> {
        let current = self.view.load_full();
        let stale = self.stale.load(Ordering::Acquire);
        match &current {
            Some(v) if !stale => {
                if v.fetched.elapsed() >= self.ttl && !self.refreshing.swap(true, Ordering::AcqRel)
                {
                    let (me, gw) = (Arc::clone(self), Arc::clone(gw));
                    tokio::spawn(async move {
                        me.refresh(&gw).await;
                        me.refreshing.store(false, Ordering::Release);
                    });
                }
                let r = self.repin(v.clone(), gw);
                // The lock file changed (an approval) and the definitions this gateway fetched
                // before are not all what it approves: the upstream's listing may be (the
                // approval of its update): fetched again now, not refused until `tools_ttl`
                // (tester 150).
                if Arc::ptr_eq(&r, v) || r.tools.values().all(|k| k.pin == PinState::Pinned) {
                    return Some(r);
                }
                self.invalidate();
            }
            _ => {}
        }
        let seen = current.as_ref().map(|v| v.version);
        let _one = self.fetch.lock().await;
        if let Some(v) = self.view.load_full() {
            if Some(v.version) != seen && !self.stale.load(Ordering::Acquire) {
                return Some(self.repin(v, gw));
            }
        }
        if !self.failed_within(Duration::from_secs(1)) {
            self.refresh_locked(gw).await;
        }
        // The fetch failed (now, or less than a second ago): the definitions read before may no
        // longer be what the upstream runs (it said its list changed, a client was shown
        // another, or they are past `tools_ttl`), so there is none to judge by: calls get 503
        // where the checks enforce (tester 153: they were judged by the old view).
        if self.stale.load(Ordering::Acquire) {
            return None;
        }
        self.view.load_full().map(|v| self.repin(v, gw))
    }

    async fn refresh(&self, gw: &Arc<crate::Gateway>) {
        let _one = self.fetch.lock().await;
        self.refresh_locked(gw).await;
    }

    /// Fetches the tools (the caller holds `fetch`) and installs a new view.
    async fn refresh_locked(&self, gw: &Arc<crate::Gateway>) {
        self.stale.store(false, Ordering::Release);
        let (gw2, index) = (Arc::clone(gw), self.route);
        let fetched = tokio::task::spawn_blocking(move || fetch(&gw2.settings.routes[index]))
            .await
            .unwrap_or_else(|_| Err(FetchError::Http("fetch task failed".into())));
        let route = &gw.settings.routes[self.route];
        match fetched {
            Ok(tools) => {
                let set = self.build(tools);
                tracing::info!(route = %route.label, tools = set.tools.len(), version = set.version, "upstream tools fetched");
                if !set.twice.is_empty() {
                    let names: Vec<String> = set
                        .twice
                        .iter()
                        .map(|n| n.escape_debug().to_string())
                        .collect();
                    tracing::warn!(route = %route.label, tools = %names.join(","), "the upstream lists tools more than once; none of their definitions is used");
                }
                self.alert_changes(gw, &set);
                self.view.store(Some(Arc::new(set)));
            }
            Err(e) => {
                *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                tracing::warn!(route = %route.label, error = %e, "cannot fetch the upstream's tools");
                if self.view.load().is_none() {
                    return;
                }
                // Keep the last view, but try again at the next use.
                self.stale.store(true, Ordering::Release);
            }
        }
    }

    /// A view whose pin states follow the lock file on disk now (a new view when it changed).
    fn repin(&self, v: Arc<ToolSet>, gw: &Arc<crate::Gateway>) -> Arc<ToolSet> {
        let Some(pins) = &self.pins else {
            return v;
        };
        let lock = pins.current();
        if v.lock.as_ref().is_some_and(|l| Arc::ptr_eq(l, &lock)) {
            return v;
        }
        // The lock file changed (an approval): rebuild from the same definitions.
        let _ = gw;
        let defs: Vec<Value> = v.tools.values().map(|k| k.def.clone()).collect();
        let mut set = self.build(defs);
        set.twice = v.twice.clone();
        let set = Arc::new(set);
        self.view.store(Some(set.clone()));
        set
    }

    fn build(&self, tools: Vec<Value>) -> ToolSet {
        let lock = self.pins.as_ref().map(Pins::current);
        let mut map = HashMap::with_capacity(tools.len());
        let twice = listed_twice(&tools);
        for def in tools {
            let Some(name) = vigil_core::pin::tool_name(&def).map(str::to_owned) else {
                continue;
            };
            if twice.contains(&name) {
                continue;
            }
            let schema = (self.validation != ValidationMode::Off).then(|| compile(&def));
            let hash = vigil_core::pin::tool_hash(&def);
            let pin = match (&self.pins, &lock) {
                (Some(p), Some(l)) => p.state(&l.1, &name, &def, &hash),
                _ => PinState::Pinned,
            };
            map.insert(
                name,
                Known {
                    hash,
                    def,
                    schema,
                    pin,
                },
            );
        }
        ToolSet {
            version: self.versions.fetch_add(1, Ordering::Relaxed),
            fetched: Instant::now(),
            tools: map,
            twice,
            lock,
        }
    }

    /// One alert per changed or new tool definition (by hash), naming server and tool.
    fn alert_changes(&self, gw: &crate::Gateway, set: &ToolSet) {
        let Some(pins) = &self.pins else { return };
        let mut fired = self.alerted.lock().unwrap_or_else(|e| e.into_inner());
        for name in &set.twice {
            if fired.insert((name.clone(), "listed more than once".to_owned())) {
                gw.alerts.tool_changed(
                    &pins.config.server,
                    name,
                    "is listed more than once by the upstream",
                    pins.config.mode == PinMode::Enforce,
                );
            }
        }
        for (name, k) in &set.tools {
            let what = match &k.pin {
                PinState::Pinned => continue,
                PinState::New => "is new (not in the lock file)".to_owned(),
                // The lock file may hold only the hash: then which field is not known.
                PinState::Changed(f) if f.is_empty() => "changed its definition".to_owned(),
                PinState::Changed(f) => format!("changed its {}", f.join(", ")),
            };
            if fired.insert((name.clone(), k.hash.clone())) {
                gw.alerts.tool_changed(
                    &pins.config.server,
                    name,
                    &what,
                    pins.config.mode == PinMode::Enforce,
                );
            }
        }
    }
}

/// A tool's `inputSchema` compiled offline: draft-07 (or 4, 6, 2019-09) when it says so in
/// `$schema`, else 2020-12; no `$ref` outside the schema is resolved; regexes bounded.
pub fn compile(def: &Value) -> Result<jsonschema::Validator, SchemaError> {
    let Some(schema) = def.get("inputSchema") else {
        return Err(SchemaError::Missing);
    };
    if depth(schema) > MAX_DEPTH {
        return Err(SchemaError::TooDeep);
    }
    let draft = match schema.get("$schema").and_then(Value::as_str) {
        Some(s) if s.contains("draft-07") => jsonschema::Draft::Draft7,
        Some(s) if s.contains("draft-06") => jsonschema::Draft::Draft6,
        Some(s) if s.contains("draft-04") => jsonschema::Draft::Draft4,
        Some(s) if s.contains("2019-09") => jsonschema::Draft::Draft201909,
        _ => jsonschema::Draft::Draft202012,
    };
    jsonschema::options()
        .with_draft(draft)
        .offline()
        .with_pattern_options(
            jsonschema::PatternOptions::regex()
                .size_limit(1 << 20)
                .dfa_size_limit(1 << 20),
        )
        .build(schema)
        .map_err(|e| SchemaError::Compile(e.kind().keyword().to_owned()))
}

/// How deeply `v` nests arrays and objects.
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Why arguments do not validate: the path (JSON Pointer under `arguments`) and keyword of the
/// first failure, never the value.
pub fn invalid_arguments(schema: &jsonschema::Validator, args: &Value) -> Option<String> {
    if depth(args) > MAX_DEPTH {
        return Some(format!(
            "arguments are nested deeper than {MAX_DEPTH} levels"
        ));
    }
    // The common case, valid arguments, without building an error.
    if schema.is_valid(args) {
        return None;
    }
    let e = schema.iter_errors(args).next()?;
    let path = e.instance_path().as_str();
    Some(format!(
        "argument {} fails the schema keyword `{}`",
        if path.is_empty() { "(root)" } else { path },
        e.kind().keyword()
    ))
}

/// Reads the upstream's tools (blocking: run it off the async workers).
pub fn fetch(route: &Route) -> Result<Vec<Value>, FetchError> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(route.timeout))
        .build()
        .into();
    let path = crate::proxy::upstream_uri(route, &route.prefix, None)
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let url = format!("{}{}", route.upstream_base, path);
    let mut session = Session {
        agent,
        url,
        route,
        id: None,
        version: SESSION_VERSION,
        next: 1,
        deadline: std::time::Instant::now() + route.timeout,
    };
    let init = session.call(
        "initialize",
        serde_json::json!({
            "protocolVersion": SESSION_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "vigil-gateway", "version": env!("CARGO_PKG_VERSION")},
        }),
    );
    match init {
        Ok(r) => {
            if let Some(v) = r.get("protocolVersion").and_then(Value::as_str) {
                session.version = match v {
                    "2025-06-18" => "2025-06-18",
                    "2025-03-26" => "2025-03-26",
                    "2024-11-05" => "2024-11-05",
                    _ => SESSION_VERSION,
                };
            }
            session.notify("notifications/initialized")?;
        }
        Err(_) => {
            // An upstream that speaks only the sessionless protocol.
            session.id = None;
            session.version = SESSIONLESS_VERSION;
        }
    }
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    let result = loop {
        pages += 1;
        if pages > MAX_PAGES {
            break Err(FetchError::TooManyPages);
        }
        let params = match &cursor {
            Some(c) => serde_json::json!({ "cursor": c }),
            None => serde_json::json!({}),
        };
        let r = match session.call("tools/list", params) {
            Ok(r) => r,
            Err(e) => break Err(e),
        };
        match r.get("tools") {
            Some(Value::Array(a)) => tools.extend(a.iter().cloned()),
            _ => break Err(FetchError::Answer("no tools array".into())),
        }
        // An empty cursor ends the list, as clients read it (a server that writes the field
        // always sends `""` on the last page: tester 149).
        cursor = r
            .get("nextCursor")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if cursor.is_none() {
            break Ok(tools);
        }
    };
    session.close();
    result
}

/// The gateway's own MCP session with an upstream.
struct Session<'r> {
    agent: ureq::Agent,
    url: String,
    route: &'r Route,
    id: Option<String>,
    version: &'static str,
    next: u64,
    /// When the whole reading (initialize, every page, the close) must be over: the route's
    /// timeout once, not per request (a silent upstream held a call 91 s; tester 157).
    deadline: std::time::Instant,
}

impl Session<'_> {
    fn request(&self, method: &str, body: Option<String>) -> ureq::http::request::Builder {
        let mut b = ureq::http::Request::builder()
            .method(method)
            .uri(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", self.version)
            .header("x-vigil-subject", "vigil-gateway");
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        if let Some(h) = &self.route.host_header {
            b = b.header("host", h.clone());
        }
        for (k, v) in &self.route.headers {
            b = b.header(k.clone(), v.clone());
        }
        if let Some(a) = &self.route.audience_header {
            b = b.header("x-vigil-audience", a.clone());
        }
        if let Some(a) = &self.route.assertion {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            if let Ok(t) = vigil_token::mint_assertion(
                &a.key,
                &a.issuer,
                &a.audience,
                "vigil-gateway",
                now,
                a.lifetime,
            ) {
                b = b.header("authorization", format!("Bearer {t}"));
            }
        }
        if let Some(id) = &self.id {
            b = b.header("mcp-session-id", id.as_str());
        }
        b
    }

    fn send(
        &self,
        method: &str,
        body: Option<String>,
    ) -> Result<ureq::http::Response<ureq::Body>, FetchError> {
        let req = self
            .request(method, body.clone())
            .body(body.unwrap_or_default())
            .map_err(|e| FetchError::Http(e.to_string()))?;
        let left = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(FetchError::Http(format!(
                "no answer within the route's timeout ({} s)",
                self.route.timeout.as_secs_f64()
            )));
        }
        let req = self
            .agent
            .configure_request(req)
            .timeout_global(Some(left))
            .build();
        self.agent.run(req).map_err(|e| match e {
            ureq::Error::Timeout(_) => FetchError::Http(format!(
                "no answer within the route's timeout ({} s)",
                self.route.timeout.as_secs_f64()
            )),
            e => FetchError::Http(e.to_string()),
        })
    }

    /// A request and its result.
    fn call(&mut self, method: &str, params: Value) -> Result<Value, FetchError> {
        let id = self.next;
        self.next += 1;
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let mut resp = self.send("POST", Some(body.to_string()))?;
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        if let Some(s) = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            self.id = Some(s.to_owned());
        }
        let sse = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(|e| FetchError::Http(e.to_string()))?;
        let answer = if sse {
            answer_in_stream(&text, id)
        } else {
            one_reading(&text)
        };
        let Some(mut answer) = answer else {
            return Err(FetchError::Answer(
                "unreadable (not JSON, or it reads two ways: a key given twice, or a key that reads as another once case is folded, as the README's tool pinning says)".into(),
            ));
        };
        if answer.get("id") != Some(&Value::from(id)) {
            return Err(FetchError::Answer("another id".into()));
        }
        match answer.get_mut("result") {
            Some(r) => Ok(r.take()),
            None => Err(FetchError::Answer("an error".into())),
        }
    }

    fn notify(&self, method: &str) -> Result<(), FetchError> {
        let body = serde_json::json!({"jsonrpc": "2.0", "method": method});
        let resp = self.send("POST", Some(body.to_string()))?;
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        Ok(())
    }

    fn close(&self) {
        if self.id.is_some() {
            let _ = self.send("DELETE", None);
        }
    }
}

/// A message read as a value when it reads one way only ([`crate::jsonrpc::one_reading`]);
/// else none (the listing is then unreadable).
fn one_reading(b: &[u8]) -> Option<Value> {
    crate::jsonrpc::one_reading(std::str::from_utf8(b).ok()?)
}

/// The answer with id `id` among the events of an SSE body.
fn answer_in_stream(b: &[u8], id: u64) -> Option<Value> {
    let mut rest = b;
    while let Some(end) = crate::rewrite::event_end(rest, true) {
        let ev = &rest[..end];
        rest = &rest[end..];
        let Some(data) = crate::rewrite::event_data(ev) else {
            continue;
        };
        if let Some(v) = one_reading(&data) {
            if v.get("id") == Some(&Value::from(id)) {
                return Some(v);
            }
        }
    }
    None
}

/// How old a view must be before a call of a tool it does not list fetches the list again.
pub const UNLISTED_REFETCH: Duration = Duration::from_secs(2);

/// Marks the catalog stale when a `notifications/tools/list_changed` passes (on any stream of
/// the route).
pub struct ListChanged(pub Arc<Catalog>);

impl Hook for ListChanged {
    fn wants(&self, _: &RequestInfo, raw: &[u8]) -> bool {
        // A `\u` escape may spell the method: read such a message too.
        LIST_CHANGED.find(raw).is_some() || ESCAPE_U.find(raw).is_some()
    }
    fn guards(&self) -> bool {
        false
    }
    fn reads_json(&self) -> bool {
        false
    }
    fn message(&self, _: &RequestInfo, msg: &mut Value) -> Action {
        if msg.get("method").and_then(Value::as_str) == Some("notifications/tools/list_changed") {
            self.0.invalidate();
        }
        Action::Keep
    }
}

/// A searcher built once (building one per answer cost more than the search itself).
type Needle = std::sync::LazyLock<memchr::memmem::Finder<'static>>;
/// `list_changed`, which the catalog watches for.
static LIST_CHANGED: Needle = Needle::new(|| memchr::memmem::Finder::new(b"list_changed"));
/// Whether `raw` holds `tools`, the key of a tool list, as a word: quoted or not, in any
/// case, and with `ſ` for `s`. A Go client reads `"Tools"` and `"toolſ"` as `tools`, and such
/// a message must be read to be withheld (tester 149); unquoted or single-quoted too
/// (`{tools: […]}`, `{'tools': […]}`): a lenient reader (JSON5, a Python literal) reads a tool
/// list there, so such a message is read, and withheld as the JSON it is not (tester 153).
/// One vectorised search for its `l` (a case-insensitive automaton cost ~3.7k instructions
/// per answer).
fn names_tools(raw: &[u8]) -> bool {
    // At each `l` (rarer than `s` in text), `too` before it and `s` or `ſ` (C5 BF) after it.
    memchr::memchr2_iter(b'l', b'L', raw).any(|i| {
        i >= 3
            && raw[i - 3..i].eq_ignore_ascii_case(b"too")
            && match raw.get(i + 1) {
                Some(b's' | b'S') => true,
                Some(0xc5) => raw.get(i + 2) == Some(&0xbf),
                _ => false,
            }
    })
}

/// `\u`: an escape that may spell either.
static ESCAPE_U: Needle = Needle::new(|| memchr::memmem::Finder::new(b"\\u"));

/// Filters every message that carries a tool list (`result.tools`), whatever request it
/// answers and on whatever stream it comes (a POST's JSON or SSE answer, a GET stream, a
/// resumed one): tools the token may not call, and (when pinning enforces) tools whose
/// definition is not the pinned one, are removed. A definition the catalog does not hold makes
/// the catalog stale.
pub struct ListFilter {
    /// The route's rules and the token's scopes.
    pub scopes: Option<(Arc<Route>, Arc<[String]>)>,
    /// The catalog and the lock file, when the route pins or validates.
    pub catalog: Option<(Arc<Catalog>, Option<Arc<ToolSet>>)>,
    /// The lock file (when pinning); read from the catalog when a tool list comes and this is
    /// `None`.
    pub lock: Option<Arc<(Option<FileStamp>, LockFile)>>,
    /// The gateway, whose alerts say when a client is given a tool unapproved (`None` in
    /// tests).
    pub gw: Option<Arc<crate::Gateway>>,
}

impl Hook for ListFilter {
    fn wants(&self, _: &RequestInfo, raw: &[u8]) -> bool {
        // An upstream may spell `tools` with a `\u` escape: such a message is read too.
        names_tools(raw) || ESCAPE_U.find(raw).is_some()
    }
    fn message(&self, _: &RequestInfo, msg: &mut Value) -> Action {
        let Some(tools) = msg
            .get_mut("result")
            .and_then(|r| r.get_mut("tools"))
            .and_then(Value::as_array_mut)
        else {
            return Action::Keep;
        };
        let before = tools.len();
        // A name listed twice, in this answer or in the gateway's whole listing (another page
        // may hold the other): which definition a call runs cannot be told; none is shown.
        let mut twice = match &self.catalog {
            Some((catalog, _)) => {
                let here = listed_twice(tools);
                if !here.is_empty() {
                    // The upstream's listing changed: its calls are checked against a new view.
                    catalog.invalidate();
                }
                here
            }
            None => Default::default(),
        };
        if let Some((_, Some(view))) = &self.catalog {
            twice.extend(view.twice.iter().cloned());
        }
        let lock = match (&self.lock, &self.catalog) {
            (Some(l), _) => Some(l.clone()),
            (None, Some((c, _))) => c.lock(),
            (None, None) => None,
        };
        // The tools this listing gave unapproved (name, definition hash; none when given
        // twice): held as they are met, alerted once for the listing.
        let mut given: Vec<(String, String)> = Vec::new();
        // Keys of a shown tool that no pin covers (`"instructions"`, a vendor's `x-prompt`),
        // removed where the pins enforce: a client that hands the tool's JSON to a model would
        // give it text nobody approved (tester 154).
        let mut stripped = false;
        let strip = self
            .catalog
            .as_ref()
            .is_some_and(|(c, _)| c.pins_enforce() && lock.is_some());
        tools.retain_mut(|t| {
            let keep = self.shown(t, &twice, &lock, &mut given);
            if keep && strip {
                if let Some(o) = t.as_object_mut() {
                    let n = o.len();
                    o.retain(|k, _| vigil_core::pin::PINNED_FIELDS.contains(&k.as_str()));
                    stripped |= o.len() != n;
                }
            }
            keep
        });
        if let Some((catalog, _)) = &self.catalog {
            catalog.alert_given(self.gw.as_deref(), &given);
            catalog.flush_holds();
            // This listing held the server whole (too many tools unapproved): none is shown,
            // as none may be called.
            if catalog.pins_enforce() && catalog.holds.as_ref().is_some_and(|h| h.all()) {
                tools.clear();
            }
        }
        let fewer = tools.len() != before;
        // Beside the list, only what a listing is: no `result.instructions`, `result._meta` or
        // message-level extras nobody approved (testers 155, 156).
        if strip {
            if let Some(o) = msg.as_object_mut() {
                let n = o.len();
                o.retain(|k, _| matches!(k.as_str(), "jsonrpc" | "id" | "result"));
                stripped |= o.len() != n;
            }
            if let Some(r) = msg.get_mut("result").and_then(Value::as_object_mut) {
                let n = r.len();
                r.retain(|k, _| matches!(k.as_str(), "tools" | "nextCursor"));
                stripped |= r.len() != n;
            }
        }
        if fewer || stripped {
            Action::Changed
        } else {
            Action::Keep
        }
    }
}

impl ListFilter {
    /// Whether tool `t` of a listing is shown: not listed twice, within the token's scopes,
    /// approved where the pins enforce (a tool given unapproved is held and put in `given`).
    fn shown(
        &self,
        t: &Value,
        twice: &std::collections::BTreeSet<String>,
        lock: &Option<Arc<(Option<FileStamp>, LockFile)>>,
        given: &mut Vec<(String, String)>,
    ) -> bool {
        {
            let Some(name) = vigil_core::pin::tool_name(t) else {
                return false;
            };
            if twice.contains(name) {
                if let Some((catalog, _)) = &self.catalog {
                    catalog.shown_unapproved(name);
                    given.push((name.to_owned(), String::new()));
                }
                return false;
            }
            if let Some((route, have)) = &self.scopes {
                if route
                    .tool_scopes(name)
                    .any(|need| !have.iter().any(|h| h == need))
                {
                    return false;
                }
            }
            if let Some((catalog, view)) = &self.catalog {
                let hash = vigil_core::pin::tool_hash(t);
                let known = view
                    .as_ref()
                    .and_then(|v| v.tools.get(name))
                    .is_some_and(|k| k.hash == hash);
                if !known {
                    catalog.invalidate();
                }
                if let Some(lock) = &lock {
                    if catalog.pin_state(&lock.1, t, &hash) != PinState::Pinned {
                        // Held on every enforce route of the server, also when this route
                        // only alerts (and shows it).
                        catalog.shown_unapproved(name);
                        given.push((name.to_owned(), hash.clone()));
                        if catalog.pins_enforce() {
                            return false;
                        }
                    }
                    // Held since an earlier listing: not shown, as its calls are refused.
                    if catalog.pins_enforce() && catalog.shown_unpinned(name) {
                        return false;
                    }
                }
            }
            true
        }
    }
}

/// Names that more than one of `tools` gives itself.
fn listed_twice(tools: &[Value]) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::HashSet::with_capacity(tools.len());
    tools
        .iter()
        .filter_map(vigil_core::pin::tool_name)
        .filter(|n| !seen.insert(*n))
        .map(str::to_owned)
        .collect()
}

/// What `vigil gateway pin` found: the upstream's tools now, how they differ from the lock
/// file, and the lock file.
#[derive(Debug)]
pub struct PinReview {
    /// The route's server name in the lock file.
    pub server: String,
    /// The lock file.
    pub path: std::path::PathBuf,
    /// The tools the upstream lists now.
    pub tools: Vec<Value>,
    /// How they differ from the lock file, by tool name.
    pub changes: Vec<vigil_core::pin::Change>,
    lock: LockFile,
}

/// Why pins cannot be reviewed.
#[derive(Debug, thiserror::Error)]
pub enum PinReviewError {
    /// The route sets no `pins`.
    #[error("route {0} has no pins = \"…\" lock file")]
    NotPinned(String),
    /// The lock file cannot be read or written.
    #[error(transparent)]
    Lock(#[from] vigil_core::pin::PinError),
    /// The upstream lists a tool more than once: which definition would be approved (and which
    /// the upstream runs) cannot be told.
    #[error("route {route}: the upstream lists {tools} more than once; a listing that names each tool once is needed before its tools can be reviewed or approved")]
    Twice {
        /// The route.
        route: String,
        /// The names, quoted.
        tools: String,
    },
    /// The listing is not the one reviewed (its digest differs): nothing is recorded.
    #[error("the upstream's tools (or the tools the gateway holds of the server) are not the listing reviewed ({reviewed}): they are now listing {now}; nothing was recorded, review them again")]
    Changed {
        /// The digest given.
        reviewed: String,
        /// The listing's digest now.
        now: String,
    },
    /// What was given is not a digest this review prints.
    #[error("{given:?} is not a listing's digest (24 hex digits, as `vigil gateway pin --route …` prints it); nothing was recorded")]
    NotADigest {
        /// What was given.
        given: String,
    },
    /// The server's approval count cannot go past the holds' (it is at its largest): an
    /// approval would release nothing.
    #[error("the approval count of server {server} in the lock file is at its largest, so an approval cannot release the tools the gateway holds; nothing was recorded (remove the server's `approval` from the lock file and its entry from the .held file beside it, restart the gateways that use the lock file, then review again)")]
    CountExhausted {
        /// The server.
        server: String,
    },
    /// The upstream's tools cannot be read.
    #[error("route {route}: cannot read the upstream's tools: {error}")]
    Fetch {
        /// The route.
        route: String,
        /// Why.
        error: FetchError,
    },
}

impl PinReview {
    /// Reads the upstream's tools of `route` (blocking) and compares them with its lock file.
    pub fn new(route: &Route) -> Result<PinReview, PinReviewError> {
        let pins = route
            .pins
            .as_ref()
            .ok_or_else(|| PinReviewError::NotPinned(route.label.clone()))?;
        let lock = LockFile::load(&pins.path)?.unwrap_or_default();
        let tools = fetch(route).map_err(|error| PinReviewError::Fetch {
            route: route.label.clone(),
            error,
        })?;
        let twice = listed_twice(&tools);
        if !twice.is_empty() {
            return Err(PinReviewError::Twice {
                route: route.label.clone(),
                tools: twice
                    .iter()
                    .map(|n| format!("`{}`", n.escape_debug()))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let changes = lock.compare(&pins.server, &tools);
        Ok(PinReview {
            server: pins.server.clone(),
            path: pins.path.clone(),
            tools,
            changes,
            lock,
        })
    }

    /// The pinned fields of the tool `name` as the upstream lists it now.
    pub fn now(&self, name: &str) -> Option<&Value> {
        self.tools
            .iter()
            .find(|t| vigil_core::pin::tool_name(t) == Some(name))
    }

    /// The listing's digest: of every tool's pinned fields (in any order: an upstream may list
    /// them in another order each time), and of what the gateway holds of the server when it
    /// holds anything (24 hex digits of a SHA-256).
    /// What an operator reviewed is approved by it: a hold made after the review (a client
    /// given another definition since) changes it, so that approval releases nothing.
    pub fn digest(&self) -> String {
        let mut hashes: Vec<String> = self.tools.iter().map(vigil_core::pin::tool_hash).collect();
        hashes.sort_unstable();
        let mut all = String::new();
        for h in hashes {
            all.push_str(&h);
            all.push('\n');
        }
        match self.held() {
            Ok(None) => {}
            Ok(Some((every, names))) => {
                all.push_str(&format!(
                    "held {} {every}\n",
                    self.lock.approval(&self.server)
                ));
                for n in names {
                    all.push_str(&serde_json::to_string(&n).unwrap_or_default());
                    all.push('\n');
                }
            }
            Err(_) => all.push_str("held unreadable\n"),
        }
        vigil_core::chain::sha256_hex(all.as_bytes())[..24].to_owned()
    }

    /// What the gateway holds of this server (kept beside the lock file, made since the last
    /// approval): whether every tool is held, and the names held; `None` when nothing is.
    pub fn held(&self) -> Result<Option<(bool, Vec<String>)>, crate::holds::HeldError> {
        crate::holds::kept(&self.path, &self.server, self.lock.approval(&self.server))
    }

    /// Records the tools as listed now (atomically), if the listing still has the digest
    /// `reviewed` (the one the review showed): an upstream that changed its tools between the
    /// review and the approval is refused. A running gateway sees the lock file at its next
    /// `tools/list` or `tools/call` on the route.
    pub fn approve(mut self, reviewed: &str) -> Result<(), PinReviewError> {
        let given = reviewed.trim();
        if given.len() != 24 || !given.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PinReviewError::NotADigest {
                given: given.escape_debug().to_string(),
            });
        }
        let now = self.digest();
        if !given.eq_ignore_ascii_case(&now) {
            return Err(PinReviewError::Changed {
                reviewed: reviewed.escape_debug().to_string(),
                now,
            });
        }
        // An approval counts one past the lock file's count and the holds' (holds made under
        // a count above the lock file's, which was put back to an older copy, are released
        // too); a count at its largest cannot, and an approval that released nothing would
        // say it did.
        let held = crate::holds::held_approval(&self.path, &self.server);
        let next = self
            .lock
            .approval(&self.server)
            .max(held.unwrap_or(0))
            .checked_add(1)
            .ok_or_else(|| PinReviewError::CountExhausted {
                server: self.server.escape_debug().to_string(),
            })?;
        self.lock.approve(&self.server, &self.tools);
        if let Some(s) = self.lock.servers.get_mut(&self.server) {
            s.approval = next;
        }
        self.lock.save(&self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_tool_list_key_is_found_in_every_spelling_a_reader_takes() {
        for raw in [
            r#"{"result":{"tools":[]}}"#,
            r#"{"result":{"TooLs":[]}}"#,
            r#"{result:{tools:[]}}"#,
            r#"{'result':{'TOOLS':[]}}"#,
            "{\"result\":{\"tool\u{17f}\":[]}}",
            "{\"result\":{\"TOOL\u{17f}\":[]}}",
        ] {
            assert!(names_tools(raw.as_bytes()), "{raw}");
        }
        for raw in [
            r#"{"result":{"content":[{"type":"text","text":"stacks of tool"}]}}"#,
            "s",
            "\u{17f}",
            "ools",
        ] {
            assert!(!names_tools(raw.as_bytes()), "{raw}");
        }
    }

    #[test]
    fn schemas_compile_offline_and_failures_name_path_and_keyword_only() {
        let tool = json!({"name": "w", "inputSchema": {"type": "object", "properties": {"path": {"type": "string", "pattern": "^/srv/"}, "n": {"type": "integer"}}, "required": ["path"]}});
        let v = compile(&tool).unwrap();
        assert_eq!(
            invalid_arguments(&v, &json!({"path": "/srv/a", "n": 2})),
            None
        );
        let why = invalid_arguments(&v, &json!({"path": "/srv/a", "n": "two-secret"})).unwrap();
        assert_eq!(why, "argument /n fails the schema keyword `type`");
        let why = invalid_arguments(&v, &json!({"path": "/etc/shadow"})).unwrap();
        assert_eq!(why, "argument /path fails the schema keyword `pattern`");
        assert!(!why.contains("shadow"));
        let why = invalid_arguments(&v, &json!({})).unwrap();
        assert!(why.contains("`required`"), "{why}");
        // No remote reference is ever fetched.
        let remote = json!({"name": "r", "inputSchema": {"$ref": "http://127.0.0.1:9/s.json"}});
        assert!(compile(&remote).is_err());
        // draft-07 when declared: `items` as an array is a tuple there.
        let d7 = json!({"name": "t", "inputSchema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "array", "items": [{"type": "string"}]}});
        let v = compile(&d7).unwrap();
        assert!(invalid_arguments(&v, &json!([1])).is_some());
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!([deep]);
        }
        let any = compile(&json!({"name": "a", "inputSchema": {}})).unwrap();
        assert!(invalid_arguments(&any, &deep).is_some());
    }

    fn route(extra: &str) -> Route {
        let text = format!(
            "[gateway]\n[[gateway.routes]]\npath = \"/mcp/fs\"\nupstream = \"http://127.0.0.1:9\"\n{extra}"
        );
        let config = vigil_core::Config::parse("vigil.toml".into(), text).unwrap();
        let s: crate::GatewaySection = config.read(&|_| None).unwrap();
        crate::Settings::resolve(&config, &s, None)
            .unwrap()
            .routes
            .remove(0)
    }

    #[test]
    fn tools_list_answers_lose_tools_the_token_may_not_call_and_list_changed_is_noticed() {
        let r = Arc::new(route(
            "[[gateway.routes.tools]]\nname = \"delete_*\"\nscopes = [\"fs:write\"]\n",
        ));
        let filter = |have: &[&str]| -> Arc<dyn Hook> {
            Arc::new(ListFilter {
                scopes: Some((r.clone(), have.iter().map(|s| (*s).to_owned()).collect())),
                catalog: None,
                lock: None,
                gw: None,
            })
        };
        let answer = br#"{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"read_file"},{"name":"delete_file"}]}}"#;
        let rw = crate::rewrite::Rewriter::new(
            RequestInfo::default(),
            vec![filter(&["fs:read"])],
            1 << 20,
        );
        let out = rw.message(answer);
        let v: Value = serde_json::from_slice(out.bytes().unwrap()).unwrap();
        assert_eq!(v["result"]["tools"], json!([{"name": "read_file"}]));
        // A list under a key a Go client reads as `tools` is read, and withheld (tester 149).
        for key in ["Tools", "TOOLS", "tool\u{17f}"] {
            let other = String::from_utf8(answer.to_vec())
                .unwrap()
                .replace("\"tools\"", &format!("\"{key}\""));
            assert!(rw.message(other.as_bytes()).bytes().is_none(), "{key}");
        }
        let rw = crate::rewrite::Rewriter::new(
            RequestInfo::default(),
            vec![filter(&["fs:write"])],
            1 << 20,
        );
        assert_eq!(rw.message(answer), crate::rewrite::Rewritten::Unchanged);

        let c = Arc::new(Catalog::new(
            &route("pins = \"tools.lock\"\n"),
            Duration::from_secs(300),
            ValidationMode::Off,
        ));
        let watch = ListChanged(c.clone());
        let info = RequestInfo::default();
        assert!(!watch.wants(
            &info,
            br#"{"jsonrpc":"2.0","method":"notifications/progress"}"#
        ));
        let mut n = json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"});
        assert!(!c.stale.load(Ordering::Acquire));
        assert_eq!(watch.message(&info, &mut n), Action::Keep);
        assert!(c.stale.load(Ordering::Acquire));
    }

    #[test]
    fn holds_outlive_a_restart_and_a_reload_until_the_server_is_approved_again() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("tools.lock");
        LockFile::new().save(&lock).unwrap();
        let at = |server: &str| {
            route(&format!(
                "pins = {}\npin_server = \"{server}\"\n",
                serde_json::to_string(&lock.to_str().unwrap()).unwrap()
            ))
        };
        let ttl = Duration::from_secs(300);
        let catalog = |server: &str| Catalog::new(&at(server), ttl, ValidationMode::Off);
        let first = catalog("fs");
        first.shown_unapproved("delete_file");
        first.flush_holds();
        assert!(first.shown_unpinned("delete_file"));
        assert!(!first.shown_unpinned("read_file"));
        // Another route of the same server (a reload builds one too) shares the holds; another
        // server of the same lock file does not.
        let twin = catalog("fs");
        assert!(twin.shown_unpinned("delete_file"));
        assert!(!catalog("git").shown_unpinned("delete_file"));
        // Written when the listing's holds are flushed, private.
        let held = crate::holds::held_path(&lock);
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&held).unwrap().permissions().mode() & 0o777,
            0o600
        );
        drop((first, twin));

        // A restart: a new store reads them back.
        let restarted = catalog("fs");
        restarted.restore_holds().unwrap();
        assert!(restarted.shown_unpinned("delete_file"));

        // The same lock file written again, or another server approved: still held.
        let mut file = LockFile::load(&lock).unwrap().unwrap();
        file.save(&lock).unwrap();
        assert!(restarted.shown_unpinned("delete_file"));
        file.approve("git", &[]);
        file.save(&lock).unwrap();
        assert!(restarted.shown_unpinned("delete_file"));
        // Nor a lock file gone missing or back to an older copy (its count is lower).
        std::fs::remove_file(&lock).unwrap();
        assert!(restarted.shown_unpinned("delete_file"));
        LockFile::new().save(&lock).unwrap();
        assert!(restarted.shown_unpinned("delete_file"));
        // This server approved: released, in memory and on disk.
        file.approve("fs", &[]);
        file.save(&lock).unwrap();
        assert!(!restarted.shown_unpinned("delete_file"));
        assert!(!held.exists());
        drop(restarted);

        // Past the bound every tool of the server is held.
        let many = catalog("fs");
        for i in 0..=crate::holds::MAX_HELD {
            many.shown_unapproved(&format!("t{i}"));
        }
        // One listing, one write.
        many.flush_holds();
        assert!(many.shown_unpinned("read_file"));
        drop(many);
        let back = catalog("fs");
        back.restore_holds().unwrap();
        assert!(back.shown_unpinned("anything"));
        drop(back);

        // A file that is not a hold list is refused, naming its line.
        std::fs::write(&held, "{\n\"servers\": 7}\n").unwrap();
        let e = catalog("fs").restore_holds().unwrap_err().to_string();
        assert!(e.contains("tools.lock.held:2:"), "{e}");
    }

    /// Tester 148, F15: the listing that holds the server whole (more tools unapproved than
    /// are held by name) shows none of its tools, the approved ones included.
    #[test]
    fn a_listing_that_holds_every_tool_shows_none() {
        let dir = tempfile::tempdir().unwrap();
        let lock_path = dir.path().join("tools.lock");
        let approved = json!({"name": "read_file", "description": "Read a file", "inputSchema": {"type": "object"}});
        let mut lock = LockFile::new();
        lock.approve("fs", std::slice::from_ref(&approved));
        lock.save(&lock_path).unwrap();
        let catalog = Arc::new(pinned_at(&lock_path));
        catalog.restore_holds().unwrap();
        let filter = |catalog: &Arc<Catalog>| -> Arc<dyn Hook> {
            Arc::new(ListFilter {
                scopes: None,
                catalog: Some((catalog.clone(), None)),
                lock: None,
                gw: None,
            })
        };
        let listing = |tools: Vec<Value>| {
            json!({"jsonrpc": "2.0", "id": 2, "result": {"tools": tools}}).to_string()
        };
        let names = |out: &crate::rewrite::Rewritten| -> Vec<String> {
            let v: Value = serde_json::from_slice(out.bytes().unwrap()).unwrap();
            v["result"]["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let rw = |c: &Arc<Catalog>| {
            crate::rewrite::Rewriter::new(RequestInfo::default(), vec![filter(c)], 1 << 24)
        };
        // One tool unapproved: it alone is hidden.
        let one = listing(vec![
            approved.clone(),
            json!({"name": "x", "inputSchema": {"type": "object"}}),
        ]);
        assert_eq!(names(&rw(&catalog).message(one.as_bytes())), ["read_file"]);
        // Past the bound: the server is held whole, and this listing already shows nothing.
        let mut tools = vec![approved.clone()];
        tools.extend((0..=crate::holds::MAX_HELD).map(|i| json!({"name": format!("x{i}")})));
        let many = listing(tools);
        assert!(names(&rw(&catalog).message(many.as_bytes())).is_empty());
        assert!(catalog.shown_unpinned("read_file"));
    }

    /// The catalog of a route pinning server `fs` of the lock file at `path`.
    fn pinned_at(path: &std::path::Path) -> Catalog {
        let r = route(&format!(
            "pins = {}\npin_server = \"fs\"\n",
            serde_json::to_string(&path.to_str().unwrap()).unwrap()
        ));
        Catalog::new(&r, Duration::from_secs(300), ValidationMode::Off)
    }

    /// Tester 149, F18: a lock file turned into a link to another file while a gateway ran
    /// (which kept its holds beside the old path): the next start or reload takes them up.
    #[test]
    fn holds_kept_beside_a_path_that_became_a_link_are_taken_up() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("tools.lock");
        LockFile::new().save(&lock).unwrap();
        let at = pinned_at;
        let first = at(&lock);
        first.restore_holds().unwrap();
        first.shown_unapproved("delete_file");
        first.flush_holds();
        drop(first);
        assert!(dir.path().join("tools.lock.held").exists());
        std::fs::rename(&lock, dir.path().join("real.lock")).unwrap();
        std::os::unix::fs::symlink("real.lock", &lock).unwrap();
        // A route naming the file itself is built first (tester 150: on a reload, the link's
        // route then shares that route's store, restored before).
        let named = at(&dir.path().join("real.lock"));
        named.restore_holds().unwrap();
        assert!(!named.shown_unpinned("delete_file"));
        let again = at(&lock);
        again.restore_holds().unwrap();
        assert!(again.shown_unpinned("delete_file"));
        assert!(!again.shown_unpinned("read_file"));
        assert!(named.shown_unpinned("delete_file"));
        // Written beside the file the path leads to, where every spelling finds them, and a
        // copy beside the link's path: the link replaced by the file keeps them (tester 151).
        again.shown_unapproved("move_file");
        again.flush_holds();
        drop((named, again));
        std::fs::remove_file(&lock).unwrap();
        std::fs::copy(dir.path().join("real.lock"), &lock).unwrap();
        let back = at(&lock);
        back.restore_holds().unwrap();
        assert!(back.shown_unpinned("delete_file") && back.shown_unpinned("move_file"));
        drop(back);
        assert!(std::fs::read_to_string(dir.path().join("real.lock.held"))
            .unwrap()
            .contains("delete_file"));
    }

    #[test]
    fn holds_another_process_writes_are_taken_up_and_one_file_is_one_store() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let lock = dir.path().join("tools.lock");
        LockFile::new().save(&lock).unwrap();
        let at = pinned_at;
        let one = at(&lock);
        // The same file spelled through `..`: the same holds.
        let two = at(&dir.path().join("sub/../tools.lock"));
        // And through a link to the file (tester 148, F18).
        std::os::unix::fs::symlink(&lock, dir.path().join("link.lock")).unwrap();
        let three = at(&dir.path().join("link.lock"));
        one.restore_holds().unwrap();
        one.shown_unapproved("delete_file");
        one.flush_holds();
        assert!(two.shown_unpinned("delete_file"));
        assert!(three.shown_unpinned("delete_file"));
        // A link to a lock file not there yet (first run): the file it names (tester 152).
        std::os::unix::fs::symlink("sub/../later.lock", dir.path().join("early.lock")).unwrap();
        let early = at(&dir.path().join("early.lock"));
        let later = at(&dir.path().join("later.lock"));
        early.shown_unapproved("move_file");
        early.flush_holds();
        assert!(later.shown_unpinned("move_file"));
        // Beside the link, a copy of the one held file (for the day the link is replaced by
        // the file), never holds of its own.
        assert_eq!(
            std::fs::read(dir.path().join("link.lock.held")).unwrap(),
            std::fs::read(crate::holds::held_path(&lock)).unwrap()
        );
        // Another process holds a tool there: taken up at the next check, with no wait.
        let held = crate::holds::held_path(&lock);
        let text = std::fs::read_to_string(&held).unwrap();
        let other = text.replace("\"delete_file\"", "\"delete_file\",\n      \"move_file\"");
        assert_ne!(text, other);
        std::fs::write(&held, other).unwrap();
        assert!(one.shown_unpinned("move_file"));
        assert!(!one.shown_unpinned("read_file"));
        // A file that no longer reads holds every tool (fail closed).
        std::fs::write(&held, "garbled").unwrap();
        assert!(one.shown_unpinned("read_file"));
    }

    #[test]
    fn bad_tool_settings_name_their_key() {
        let text = "[gateway]\n[[gateway.routes]]\npath = \"/mcp/fs\"\nupstream = \"http://127.0.0.1:9\"\npin_mode = \"warn\"\npins = \"t.lock\"\n";
        let config = vigil_core::Config::parse("vigil.toml".into(), text.to_owned()).unwrap();
        let s: crate::GatewaySection = config.read(&|_| None).unwrap();
        let e = crate::Settings::resolve(&config, &s, None).unwrap_err();
        assert_eq!(e.key(), "gateway.routes[0].pin_mode");
        let text = "[gateway.validation]\nmode = \"strict\"\n[[gateway.routes]]\npath = \"/mcp/fs\"\nupstream = \"http://127.0.0.1:9\"\n";
        let config = vigil_core::Config::parse("vigil.toml".into(), text.to_owned()).unwrap();
        let s: crate::GatewaySection = config.read(&|_| None).unwrap();
        let e = crate::Settings::resolve(&config, &s, None).unwrap_err();
        assert_eq!(e.key(), "gateway.validation.mode");
    }

    #[test]
    fn sse_answers_are_found_by_id() {
        let b = b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\nid: 4\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[]}}\n\n";
        assert_eq!(
            answer_in_stream(b, 2).unwrap()["result"],
            json!({"tools": []})
        );
        assert!(answer_in_stream(b, 3).is_none());
    }
}
