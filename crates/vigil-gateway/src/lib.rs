//! Vigil's authenticating gateway in front of MCP servers: one listener that routes by path or
//! host to upstreams, verifies bearer JWTs per route (`vigil-token`), rate-limits per IP and per
//! subject (GCRA), enforces Origin/CORS, adds security headers, counts everything for
//! Prometheus, fires alerts, and logs one line per request without arguments or tokens.

#![cfg_attr(test, allow(clippy::disallowed_methods))] // Unit tests write fixtures directly.

pub mod access_log;
pub mod alerts;
pub mod audit;
pub mod audit_verdict;
pub mod auth;
pub mod body;
pub(crate) mod calls;
pub mod client_ip;
pub mod config;
pub mod cors;
pub mod credentials;
pub mod endpoints;
pub mod gateway;
pub mod holds;
pub mod jsonrpc;
pub mod logs;
pub mod mcp;
pub mod metrics;
pub mod oidc;
pub mod path;
pub mod pool;
pub mod prepare;
pub mod proxy;
pub mod rate;
pub mod readiness;
pub mod rewrite;
pub mod scan;
pub mod secrets;
pub mod security_headers;
pub mod server;
pub mod service;
pub(crate) mod sessions;
pub mod sharded;
pub mod stdio;
pub mod tls;
pub mod token_cache;
pub mod tools;
pub mod watch;
pub mod webhook;
mod worker;

pub use access_log::AccessFormat;
pub use config::{GatewaySection, Settings, SettingsError};
pub use gateway::{BuildError, Gateway};
pub use metrics::Metrics;
pub use prepare::{DevBypass, LoadConfig, Options, PrepareError, Prepared, Reload};
pub use server::{terminate, ReloadError, ServeOptions, Server, StartError};
