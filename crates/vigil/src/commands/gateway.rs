//! `vigil gateway`: the authenticating gateway in front of MCP servers (`[gateway]` and `[token]`
//! of `vigil.toml`); `vigil gateway check` validates the same configuration without starting.
//! Both map flags to vigil-gateway's `Options` and `Prepared::new` (which owns every start-up
//! refusal); `check` prints what was prepared, `serve` hands it to `Server`.

use crate::cli::GlobalArgs;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use vigil_core::ExitStatus;
use vigil_gateway::{AccessFormat, Options, Prepared, Reload, ServeOptions, Server};

/// Arguments of `vigil gateway`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct GatewayArgs {
    /// `check` validates without starting.
    #[command(subcommand)]
    pub command: Option<GatewayCommand>,
    /// Options of the gateway.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The `vigil gateway` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum GatewayCommand {
    /// Validate `[gateway]`, `[token]` and the keys, print the routes, and exit.
    Check(RunArgs),
    /// Show how a route's upstream tools differ from its `pins` lock file, and the listing's
    /// digest; `--approve DIGEST` records them if the listing still has that digest (exit 1
    /// when they differ and are not approved).
    Pin(PinArgs),
    /// The audit log of tool calls (`[gateway.audit]`).
    Audit(AuditArgs),
}

/// `vigil gateway audit`.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// The `vigil gateway audit` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Recompute the hash chain of an audit log against its head; exit 1 on any edit, deletion,
    /// reordering, insertion or cut-off tail.
    Verify(VerifyArgs),
}

/// `vigil gateway audit verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The audit log (`[gateway.audit] path`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Its head file [default: FILE.head].
    #[arg(long, value_name = "FILE")]
    pub head: Option<PathBuf>,
    /// A head recorded earlier elsewhere (`SEQ:HASH`, as printed by a previous run): the log
    /// must still hold that line in its verified chain (detects a rollback or a rewrite).
    #[arg(long, value_name = "SEQ:HASH")]
    pub anchor: Option<String>,
    /// The log is known to be new: an empty log without a head file is then intact (without
    /// this flag it is not, since a log emptied with its head deleted looks the same).
    #[arg(long)]
    pub new: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t)]
    pub format: super::OutputFormat,
}

/// Arguments of `vigil gateway pin`.
#[derive(Debug, Args)]
pub(crate) struct PinArgs {
    /// The route, by its path (or host and path), e.g. /mcp/filesystem.
    #[arg(long, value_name = "PATH")]
    pub route: String,
    /// Record the upstream's tools in the lock file, if they are still the listing the review
    /// showed with this digest (an upstream that changed since is refused, exit 2).
    #[arg(long, value_name = "DIGEST")]
    pub approve: Option<String>,
    /// Options of the gateway (the same configuration is read).
    #[command(flatten)]
    pub run: RunArgs,
}

/// Options shared by `vigil gateway` and `vigil gateway check`.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct RunArgs {
    /// Listen on this address instead of `[gateway] listen` (e.g. 127.0.0.1:0 for any free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Allow listening on a non-loopback address although some route has no authentication.
    #[arg(long)]
    pub allow_insecure_bind: bool,
    /// Accept a weak or well-known default MCP_JWT_SECRET (loopback listen only; warns).
    #[arg(long)]
    pub allow_weak_secret: bool,
    /// Read variables (MCP_JWT_SECRET, …) from this .env file before the process environment
    /// (repeatable).
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Runs `vigil gateway` or `vigil gateway check`.
pub(crate) fn run(g: &GlobalArgs, args: GatewayArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        Some(GatewayCommand::Check(a)) => check(g, &a),
        Some(GatewayCommand::Audit(AuditArgs {
            command: AuditCommand::Verify(a),
        })) => verify(g, &a),
        Some(GatewayCommand::Pin(a)) => pin(g, &a),
        None => serve(g, args.run),
    }
}

impl RunArgs {
    /// The flags that bear on a start.
    fn options(&self) -> Options {
        Options {
            listen: self.listen.clone(),
            allow_insecure_bind: self.allow_insecure_bind,
            allow_weak_secret: self.allow_weak_secret,
            upstreams_only: false,
        }
    }
}

/// `[gateway]` and `[token]` with every start-up refusal applied (vigil-gateway's `Prepared`).
fn prepare(g: &GlobalArgs, a: &RunArgs) -> anyhow::Result<Prepared> {
    Ok(Prepared::new(
        &super::config(g)?,
        &a.env_file,
        &a.options(),
    )?)
}

/// `println!` through the log redactor: `gateway check` prints what the configuration holds (an
/// upstream URL with a key in its path, an audience, a public URL), and a secret of a known
/// shape there is shown as `[REDACTED:<rule>]`, as in every log line.
macro_rules! say {
    ($($t:tt)*) => {
        println!("{}", vigil_core::redact::redact(&format!($($t)*)))
    };
}

fn check(g: &GlobalArgs, a: &RunArgs) -> anyhow::Result<ExitStatus> {
    let p = prepare(g, a)?;
    let s = p.settings();
    say!("listen {}", s.listen);
    say!("public_url {}", s.public_url);
    if let Some((cert, _)) = &s.tls_files {
        say!(
            "tls {} (hsts {})",
            cert.display(),
            if s.hsts { "on" } else { "off" }
        );
    }
    for r in &s.routes {
        let rate = |r: Option<vigil_gateway::rate::Rate>| {
            r.map_or("off".to_owned(), |r| {
                format!("{}/{}s burst {}", r.count, r.period.as_secs(), r.burst)
            })
        };
        say!(
            "route {} -> {}{} audience={} auth={} per_ip={} per_subject={} timeout={}s{}",
            r.label,
            match &r.stdio {
                Some(s) => format!("stdio:{}", s.program.display()),
                None => r.upstream_base.clone(),
            },
            if r.stdio.is_some() {
                ""
            } else {
                r.upstream_path.as_str()
            },
            r.audience,
            match (&r.webhook, &r.oidc) {
                (Some(w), _) => format!("webhook:{}", w.scheme().as_str()),
                (None, Some(o)) => format!("oidc:{}", o.issuer()),
                (None, None) if r.auth => "bearer".to_owned(),
                (None, None) => "none".to_owned(),
            },
            rate(r.per_ip),
            rate(r.per_subject),
            r.timeout.as_secs(),
            if r.scopes.is_empty() {
                String::new()
            } else {
                format!(" scopes={}", r.scopes.join(" "))
            },
        );
        route_details(g, r)?;
    }
    say!(
        "scan arguments={} results={}",
        s.scan.arguments.as_str(),
        s.scan.results.as_str()
    );
    say!("validation {}", s.validation.as_str());
    if let Some(a) = &s.audit {
        say!("audit {} (head {})", a.path.display(), a.head.display());
    }
    let ring = p.verifier().ring();
    say!(
        "keys {} (algorithms: {})",
        ring.keys().len() + usize::from(ring.jwks().is_some()),
        ring.algorithms()
            .iter()
            .map(|a| vigil_token::key::alg_name(*a))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitStatus::Success)
}

/// What `gateway check` says under a route: its tool rules, pins, stdio server (variable
/// names, never values), OpenID Connect issuer and webhook secrets (names).
fn route_details(g: &GlobalArgs, r: &vigil_gateway::config::Route) -> anyhow::Result<()> {
    for t in &r.tools {
        say!("  tools {} needs scope {}", t.name, t.scopes.join(" "));
    }
    if let Some(p) = &r.pins {
        let state = match vigil_core::pin::LockFile::load(&p.path) {
            Ok(Some(lock)) => {
                let pinned = lock.servers.get(&p.server).map_or(0, |s| s.tools.len());
                // What the gateway holds (a `.held` file it would not start on: exit 2 here too).
                let held = vigil_gateway::holds::kept(&p.path, &p.server, lock.approval(&p.server))
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "gateway.routes[{}].pins: {e} (here: {})",
                            r.index,
                            pin_command(g, &r.label)
                        )
                    })?;
                match held {
                    None => format!("{pinned} tools pinned"),
                    Some((true, _)) => format!(
                        "{pinned} tools pinned; every tool held by the gateway (a listing it served had tools unapproved; `{}` reviews, approving releases them)",
                        pin_command(g, &r.label)
                    ),
                    Some((false, names)) => format!(
                        "{pinned} tools pinned; {} held by the gateway (a listing it served had them unapproved; `{}` names them, approving releases them)",
                        names.len(),
                        pin_command(g, &r.label)
                    ),
                }
            }
            // Resolving the settings refused an unreadable one.
            Ok(None) | Err(_) => format!(
                "missing: every tool is held until `{} --approve DIGEST` records them",
                pin_command(g, &r.label)
            ),
        };
        say!(
            "  pins {} ({}, server {}): {state}",
            p.path.display(),
            p.mode.as_str(),
            p.server
        );
        // Whoever can write the lock file approves tools; whoever can write its folder can
        // also remove the held file (and with it the holds of the next gateway started).
        let lock = vigil_core::fsx::resolved(&p.path);
        let folder = lock.parent().unwrap_or(std::path::Path::new("."));
        for (what, path, why) in [
            ("lock file", lock.as_path(), "approves tools"),
            (
                "lock file's folder",
                folder,
                "can replace the lock file or remove the held tools",
            ),
        ] {
            use std::os::unix::fs::PermissionsExt as _;
            if let Ok(m) = std::fs::metadata(path) {
                if m.permissions().mode() & 0o022 != 0 {
                    say!(
                        "  warning: the {what} {} is writable by its group or others: whoever can write it {why}",
                        path.display()
                    );
                }
            }
        }
    }
    if !r.headers.is_empty() {
        // Names only: which values the gateway treats as credentials (masked in answers,
        // refused in requests) and which as plain (tester 161: say which is which).
        let kinds: Vec<(&str, bool)> = r
            .headers
            .iter()
            .map(|(k, v)| {
                let credential = v.to_str().map_or(true, |v| {
                    vigil_gateway::credentials::route_header_is_credential(k.as_str(), v)
                });
                (k.as_str(), credential)
            })
            .collect();
        let pick = |want: bool| -> Vec<&str> {
            kinds
                .iter()
                .filter(|(_, c)| *c == want)
                .map(|(k, _)| *k)
                .collect()
        };
        let (secret, plain) = (pick(true), pick(false));
        let names = |h: Vec<&str>| {
            if h.is_empty() {
                "-".to_owned()
            } else {
                h.join(",")
            }
        };
        say!(
            "  headers held as credentials (masked in answers, refused in requests): {}; plain: {}",
            names(secret),
            names(plain)
        );
    }
    if let Some(st) = &r.stdio {
        say!(
            "  stdio {} arguments={} processes={} max={} per_subject={} idle={}s env={}",
            st.program.display(),
            // A count, never the values: after `${VAR}` expansion they may hold a user's key.
            st.args.len(),
            st.mapping.as_str(),
            st.max,
            st.per_subject,
            st.idle.as_secs(),
            st.env_names().join(",")
        );
    }
    if let Some(o) = &r.oidc {
        say!(
            "  oidc issuer {} ({} keys)",
            o.issuer(),
            o.current().0.ring().keys().len()
        );
    }
    if let Some(w) = &r.webhook {
        say!("  webhook secrets {}", w.secret_names().join(", "));
    }
    Ok(())
}

fn verify(g: &GlobalArgs, a: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    use vigil_gateway::audit_verdict::{judge, Anchor, Expectations};
    match std::fs::metadata(&a.file) {
        Ok(m) if m.is_file() => {}
        Ok(_) => anyhow::bail!(
            "{}: not a regular file (an audit log is a file)",
            a.file.display()
        ),
        Err(_) => anyhow::bail!("{}: no such audit log", a.file.display()),
    }
    let anchor = match a.anchor.as_deref() {
        None => None,
        Some(h) => Some(
            h.parse::<Anchor>()
                .map_err(|e| anyhow::anyhow!("--anchor: {e}"))?,
        ),
    };
    let head = a
        .head
        .clone()
        .unwrap_or_else(|| vigil_gateway::audit::default_head(&a.file));
    // The key the log was written with (the gateway reads the same variable).
    let var = vigil_gateway::audit::KEY_ENV;
    let key = match std::env::var(var) {
        Ok(secret) => Some(
            vigil_gateway::audit::AuditKey::from_secret(&secret)
                .map_err(|e| anyhow::anyhow!("{var}: the audit key {e}"))?,
        ),
        Err(_) => None,
    };
    let verdict = judge(
        &a.file,
        &head,
        key.as_ref(),
        &Expectations { new: a.new, anchor },
    )?;
    let v = &verdict.verification;
    let intact = verdict.is_intact();
    let (head_text, genesis) = (verdict.head(), verdict.genesis());
    let problems: Vec<(&str, String)> = verdict
        .findings
        .iter()
        .map(|f| (f.code(), f.to_string()))
        .collect();
    match a.format {
        super::OutputFormat::Json => {
            let out = serde_json::json!({
                "intact": intact,
                "records": v.records.len(),
                "trusted": v.trusted,
                "head": head_text,
                "genesis": genesis,
                "keyed": v.keyed,
                "problems": problems
                    .iter()
                    .map(|(code, message)| serde_json::json!({"code": code, "message": message}))
                    .collect::<Vec<_>>(),
            });
            // Written whole, and a reader that leaves early keeps the verdict (exit 1 when not
            // intact), as for every verdict below.
            crate::output::write_stdout(
                format!("{}\n", serde_json::to_string_pretty(&out)?).as_bytes(),
            )?;
        }
        super::OutputFormat::Text => {
            use std::fmt::Write as _;
            let mut out = String::new();
            for (_, m) in &problems {
                writeln!(out, "{}: {}", a.file.display(), m.escape_debug())?;
            }
            if !g.quiet {
                writeln!(
                    out,
                    "{}: {} lines, head {}, genesis {}, {}, {} problem(s)",
                    if intact { "intact" } else { "NOT intact" },
                    v.records.len(),
                    head_text.as_deref().unwrap_or("none"),
                    genesis.as_deref().unwrap_or("none"),
                    if v.keyed { "keyed" } else { "not keyed" },
                    problems.len()
                )?;
            }
            crate::output::write_stdout(out.as_bytes())?;
        }
    }
    Ok(if intact {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// `vigil gateway pin`: the diff a human looks at before approving.
fn pin(g: &GlobalArgs, a: &PinArgs) -> anyhow::Result<ExitStatus> {
    // Names and descriptions come from the upstream: a credential or token in one is masked.
    use crate::output::mask;
    use vigil_core::pin::Change;
    // Pinning only asks the upstream for its tools: no token is verified, no key is needed.
    let options = Options {
        upstreams_only: true,
        ..a.run.options()
    };
    let p = Prepared::new(&super::config(g)?, &a.run.env_file, &options)?;
    let want = a.route.trim_end_matches('/');
    // A host (`fs.example/mcp/fs`) in any case, as the gateway routes it.
    let want = match want.find('/') {
        Some(i) if i > 0 => format!("{}{}", want[..i].to_ascii_lowercase(), &want[i..]),
        _ => want.to_owned(),
    };
    let want = want.as_str();
    let Some(route) = p
        .settings()
        .routes
        .iter()
        .find(|r| r.label == want || r.prefix == want)
    else {
        eprintln!("vigil: --route {}: no such route in [gateway]", a.route);
        return Ok(ExitStatus::Error);
    };
    // Other routes' variables (their webhook secrets) are not needed; this route's are.
    if let Some(var) = p.unset_variables(route.index).first() {
        eprintln!(
            "vigil: gateway.routes[{}]: environment variable {var} is not set",
            route.index
        );
        return Ok(ExitStatus::Error);
    }
    let review = vigil_gateway::tools::PinReview::new(route)?;
    let shown = |name: &str| {
        review
            .now(name)
            .map(|t| {
                vigil_core::pin::PINNED_FIELDS
                    .iter()
                    .filter_map(|f| {
                        t.get(*f)
                            .map(|v| format!("    {f}: {}", visible(&mask(&v.to_string()))))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    };
    // A name as a terminal shows it: secrets masked, control, format and bidirectional
    // characters escaped (a name may not move the cursor or look like another).
    let name = |tool: &str| mask(tool).escape_debug().to_string();
    // The review is written whole at the end: a reader that leaves early (`| head -1`) does
    // not turn its verdict (exit 1: the listing differs) into a success.
    use std::fmt::Write as _;
    let mut out = String::new();
    for c in &review.changes {
        match c {
            Change::Added { tool } => writeln!(out, "+ {} (new)\n{}", name(tool), shown(tool))?,
            Change::Removed { tool } => writeln!(out, "- {} (gone)", name(tool))?,
            Change::Changed { tool, fields } => {
                writeln!(out, "~ {} (changed: {})", name(tool), fields.join(", "))?;
                if let Some(t) = review.now(tool) {
                    for f in fields {
                        match t.get(f) {
                            Some(v) => {
                                writeln!(out, "    {f}: {}", visible(&mask(&v.to_string())))?
                            }
                            None => writeln!(out, "    {f}: (removed)")?,
                        }
                    }
                }
            }
        }
    }
    let unnamed = review
        .tools
        .iter()
        .filter(|t| vigil_core::pin::tool_name(t).is_none())
        .count();
    if unnamed > 0 {
        writeln!(
            out,
            "! {unnamed} tool(s) without a name (or named \"\"): never shown to clients, never callable"
        )?;
    }
    let held = review.held();
    let held_any = !matches!(held, Ok(None));
    match held {
        Ok(None) => {}
        Ok(Some((true, _))) => writeln!(
            out,
            "! every tool of {} is held by the gateway (a listing it served had more tools unapproved than it holds by name); approving releases them",
            name(&review.server)
        )?,
        Ok(Some((false, held))) => {
            let list: Vec<String> = held.iter().take(20).map(|t| name(t)).collect();
            let more = held.len().saturating_sub(list.len());
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            writeln!(
                out,
                "! held by the gateway (a listing it served had them unapproved: shown or hidden): {}{more}; approving releases them",
                list.join(", ")
            )?
        }
        Err(e) => writeln!(out, "! {e} (here: {})", pin_command(g, &a.route))?,
    }
    let digest = review.digest();
    // The command to approve with, as this one was given (its `--config` kept).
    let approve = format!("{} --approve {digest}", pin_command(g, &a.route));
    if review.changes.is_empty() && a.approve.is_none() {
        // Recording the same listing again counts one more approval: the gateway then
        // releases the tools it holds, which awaits the operator (exit 1).
        let release = if held_any {
            format!(", and the gateway holds tools of it; to release them: {approve}")
        } else {
            String::new()
        };
        writeln!(
            out,
            "{}: the {} tools of {} are as pinned (listing {digest}){release}",
            review.path.display(),
            review.tools.len() - unnamed,
            review.server,
        )?;
        crate::output::write_stdout(out.as_bytes())?;
        return Ok(if held_any {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        });
    }
    let Some(reviewed) = &a.approve else {
        writeln!(
            out,
            "{} change(s) in listing {digest}; to record exactly these: {approve}",
            review.changes.len(),
        )?;
        crate::output::write_stdout(out.as_bytes())?;
        return Ok(ExitStatus::Failure);
    };
    // Approving writes the lock file: a closed stdout stops it before the write (exit 2).
    print!("{out}");
    let (n, path, server) = (
        review.tools.len(),
        review.path.clone(),
        review.server.clone(),
    );
    review.approve(reviewed)?;
    println!("{}: recorded {n} tools of {server}", path.display());
    Ok(ExitStatus::Success)
}

/// The `vigil gateway pin` command for `route`, as this run was given (its `--config` kept), to
/// copy from a message.
fn pin_command(g: &GlobalArgs, route: &str) -> String {
    format!(
        "vigil{} gateway pin --route {}",
        g.config
            .as_ref()
            .map(|c| format!(" --config {}", shell_word(&c.display().to_string())))
            .unwrap_or_default(),
        shell_word(route)
    )
}

/// `s` as one word of a POSIX shell command line: as it is when it holds only characters no
/// shell reads specially, else single-quoted (for the commands printed to copy).
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:@%+=,-".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// JSON text as a terminal shows it to a reviewer: every character a terminal would not show
/// as itself (controls, C1, format and bidirectional characters, tags, separators) escaped as
/// Rust writes it (`\u{202e}`), and every character that renders blank (the Hangul fillers
/// U+3164 and U+115F, U+2800: [`vigil_core::logging::renders_blank`]); quotes and backslashes,
/// already JSON's, left alone.
fn visible(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '"' | '\\' | '\'' => out.push(c),
            c if vigil_core::logging::renders_blank(c) => out.extend(c.escape_unicode()),
            c => out.extend(c.escape_debug()),
        }
    }
    out
}

fn serve(g: &GlobalArgs, a: RunArgs) -> anyhow::Result<ExitStatus> {
    let prepared = prepare(g, &a)?;
    let access_log = match (
        tracing::enabled!(target: "vigil::access", tracing::Level::INFO),
        g.log_format,
    ) {
        (false, _) => AccessFormat::Off,
        (true, crate::cli::LogFormatArg::Json) => AccessFormat::Json,
        (true, crate::cli::LogFormatArg::Text) => AccessFormat::Text,
    };
    let workers = a
        .threads
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // SIGHUP reads `vigil.toml` again the way this start did, with the same flags.
    let reload = {
        let g = g.clone();
        Reload::new(
            Box::new(move || super::load_config(&g)),
            a.env_file.clone(),
            a.options(),
        )
    };
    // This runtime accepts, handles signals, reloads and alerts; the workers serve requests.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let server = Server::bind(prepared).await?;
        let bound = server.local_addr();
        tracing::info!(address = %bound, "vigil gateway listening on {bound}");
        let options = ServeOptions {
            workers,
            access_log,
            reload: Some(reload),
        };
        server.serve(options, vigil_gateway::terminate()).await?;
        anyhow::Ok(ExitStatus::Success)
    })
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn a_reviewer_sees_every_hidden_character() {
        let hidden = "\"read a file\u{e0041}\u{e0042}\u{202e}x\u{200b}\u{9b}\u{2028}\\n\"";
        let shown = visible(hidden);
        for escape in [
            "\\u{e0041}",
            "\\u{202e}",
            "\\u{200b}",
            "\\u{9b}",
            "\\u{2028}",
        ] {
            assert!(shown.contains(escape), "{escape} in {shown}");
        }
        assert!(shown.starts_with("\"read a file") && shown.ends_with("\\n\""));
        // Characters that render blank (tester 148, F17): a look-alike name, a pushed-away tail.
        for c in [
            '\u{3164}',
            '\u{115f}',
            '\u{1160}',
            '\u{ffa0}',
            '\u{2800}',
            '\u{1d159}',
        ] {
            let shown = visible(&format!("\"read_file{c}\""));
            assert_eq!(shown, format!("\"read_file\\u{{{:x}}}\"", c as u32));
        }
        assert_eq!(visible("\"héllo — ok\""), "\"héllo — ok\"");
    }

    #[test]
    fn printed_commands_quote_what_a_shell_would_read() {
        assert_eq!(super::shell_word("/mcp/fs"), "/mcp/fs");
        assert_eq!(
            super::shell_word("my dir/vigil.toml"),
            "'my dir/vigil.toml'"
        );
        assert_eq!(super::shell_word("it's"), "'it'\\''s'");
        assert_eq!(super::shell_word(""), "''");
    }
}
