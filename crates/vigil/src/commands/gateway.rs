//! `vigil gateway`: the authenticating gateway in front of MCP servers (`[gateway]` and `[token]`
//! of `vigil.toml`); `vigil gateway check` validates the same configuration without starting.

use crate::cli::GlobalArgs;
use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;
use vigil_core::ExitStatus;
use vigil_gateway::{Gateway, GatewaySection, Metrics, Settings};
use vigil_token::{KeyRing, Policy, Verifier};

/// Arguments of `vigil gateway`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GatewayArgs {
    /// `check` validates without starting.
    #[command(subcommand)]
    pub command: Option<GatewayCommand>,
    /// Options of the gateway.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The `vigil gateway` subcommands.
#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Validate `[gateway]`, `[token]` and the keys, print the routes, and exit.
    Check(RunArgs),
}

/// Options shared by `vigil gateway` and `vigil gateway check`.
#[derive(Debug, Args, Default, Clone)]
pub struct RunArgs {
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
pub fn run(g: &GlobalArgs, args: GatewayArgs) -> anyhow::Result<ExitStatus> {
    match args.command {
        Some(GatewayCommand::Check(a)) => check(g, &a),
        None => serve(g, args.run),
    }
}

/// A configuration ready to serve.
struct Prepared {
    settings: Settings,
    ring: KeyRing,
    policy: Policy,
    issuer: Option<String>,
    bypass: bool,
}

fn prepare(g: &GlobalArgs, a: &RunArgs) -> anyhow::Result<Prepared> {
    let config = super::config(g)?;
    let loaded = vigil_token::TokenSettings::load(&config, &a.env_file)?;
    if !config.has_section("gateway") {
        bail!(
            "{}: no [gateway] section (add listen and [[gateway.routes]] with path, upstream, audience)",
            config.path().display()
        );
    }
    // `${VAR}` in [gateway] reads the --env-files first, then the environment.
    let lookup = |var: &str| loaded.env.get(var);
    let section: GatewaySection = config.section_with("gateway", &lookup)?;
    let settings = section.settings(a.listen.as_deref()).map_err(|p| {
        if p.key.starts_with("gateway") {
            anyhow::Error::from(config.key_error(&p.key, &p.message))
        } else {
            anyhow::anyhow!("{}: {}", p.key, p.message)
        }
    })?;
    let mut settings = settings;
    if let Some((cert, key)) = &settings.tls_files {
        let (cert, key) = (loaded.base.join(cert), loaded.base.join(key));
        settings.tls = Some(
            vigil_gateway::tls::load(&cert, &key)
                .map_err(|p| anyhow::Error::from(config.key_error(&p.key, &p.message)))?,
        );
    }
    let ring = loaded.ring(&Default::default())?;
    let mut policy = loaded.policy()?;
    // Each route checks its own audience and issuer.
    let issuer = policy.issuer.take();
    policy.audiences.clear();

    let loopback = settings.listen.ip().is_loopback();
    let bypass_var = loaded
        .section
        .dev_bypass()
        .into_iter()
        .find(|v| lookup(v).is_some_and(|x| vigil_core::strength::truthy(&x)));
    let bypass = match &bypass_var {
        Some(v) if loopback => {
            tracing::warn!(
                "{v} is on: requests without a valid token are let through (loopback only; never in production)"
            );
            true
        }
        Some(v) => {
            tracing::error!(
                listen = %settings.listen,
                "{v} is ignored: the gateway listens on a non-loopback address"
            );
            false
        }
        None => false,
    };
    let needs_keys = settings.routes.iter().any(|r| r.auth);
    if needs_keys && !bypass && ring.keys().is_empty() && ring.jwks().is_none() {
        bail!(
            "no key to verify tokens with (set {}, or [token] keys or [token] jwks)",
            loaded.section.secret_env()
        );
    }
    for w in vigil_gateway::secrets::check(&ring, settings.listen, a.allow_weak_secret)? {
        tracing::warn!(
            "{w}: accepted on this loopback listener (--allow-weak-secret); anyone who guesses it can forge tokens"
        );
    }
    if !loopback && !a.allow_insecure_bind {
        if let Some(r) = settings.routes.iter().find(|r| !r.auth) {
            let key = format!("gateway.routes[{}].auth", r.index);
            return Err(config
                .key_error(
                    &key,
                    &format!(
                        "route {} has no authentication and the gateway would listen on {}; refused (pass --allow-insecure-bind to accept)",
                        r.label, settings.listen
                    ),
                )
                .into());
        }
    }
    Ok(Prepared {
        settings,
        ring,
        policy,
        issuer,
        bypass,
    })
}

fn check(g: &GlobalArgs, a: &RunArgs) -> anyhow::Result<ExitStatus> {
    let p = prepare(g, a)?;
    let s = &p.settings;
    println!("listen {}", s.listen);
    println!("public_url {}", s.public_url);
    if let Some((cert, _)) = &s.tls_files {
        println!(
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
        println!(
            "route {} -> {}{} audience={} auth={} per_ip={} per_subject={}",
            r.label,
            r.upstream_base,
            r.upstream_path,
            r.audience,
            if r.auth { "bearer" } else { "none" },
            rate(r.per_ip),
            rate(r.per_subject),
        );
    }
    println!(
        "keys {} (algorithms: {})",
        p.ring.keys().len() + usize::from(p.ring.jwks().is_some()),
        p.ring
            .algorithms()
            .iter()
            .map(|a| vigil_token::key::alg_name(*a))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitStatus::Success)
}

fn serve(g: &GlobalArgs, a: RunArgs) -> anyhow::Result<ExitStatus> {
    let mut p = prepare(g, &a)?;
    use vigil_gateway::access_log::{set_format, AccessFormat};
    set_format(
        match (
            tracing::enabled!(target: "vigil::access", tracing::Level::INFO),
            g.log_format,
        ) {
            (false, _) => AccessFormat::Off,
            (true, crate::cli::LogFormatArg::Json) => AccessFormat::Json,
            (true, crate::cli::LogFormatArg::Text) => AccessFormat::Text,
        },
    );
    let workers = a
        .threads
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // This runtime accepts, handles signals, reloads and alerts; the workers serve requests.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let metrics = Arc::new(Metrics::new());
        let listen = p.settings.listen;
        let listener = vigil_gateway::server::bind(listen, p.settings.backlog)
            .with_context(|| format!("cannot listen on {listen}"))?;
        let bound = listener.local_addr()?;
        p.settings.use_bound_address(bound);
        let gw = Gateway::new(
            p.settings,
            Verifier::new(p.ring, p.policy),
            p.issuer,
            p.bypass,
            metrics.clone(),
        )
        .await?;
        tracing::info!(address = %bound, "vigil gateway listening on {bound}");
        let (g2, a2) = (g.clone(), a.clone());
        let reload: vigil_gateway::Reloader = Box::new(move || {
            let mut a = a2.clone();
            // The socket stays; the new configuration serves on it.
            a.listen = Some(bound.to_string());
            let prepared = prepare(&g2, &a).map_err(|e| format!("{e:#}"));
            let metrics = metrics.clone();
            Box::pin(async move {
                let mut p = prepared?;
                p.settings.use_bound_address(bound);
                Gateway::new(
                    p.settings,
                    Verifier::new(p.ring, p.policy),
                    p.issuer,
                    p.bypass,
                    metrics,
                )
                .await
                .map_err(|e| e.to_string())
            })
        });
        vigil_gateway::serve(
            listener,
            gw,
            Some(reload),
            vigil_gateway::terminate(),
            workers,
        )
        .await?;
        anyhow::Ok(ExitStatus::Success)
    })
}
