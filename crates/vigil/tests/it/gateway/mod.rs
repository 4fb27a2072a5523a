//! `vigil gateway` end to end: the real binary between real HTTP clients and a small MCP server
//! on loopback. Auth (401/403 with RFC 6750 challenges, RFC 9728 metadata, no token passthrough),
//! MCP Streamable HTTP (JSON, SSE streamed unbuffered, GET streams, DELETE, session headers),
//! WebSocket tunnels, rate limits, CORS and Origin, health and metrics, alerts with a webhook,
//! access logs without arguments, config errors, insecure binds, dev bypass, SIGTERM draining,
//! SIGHUP reload, TLS termination (with HSTS, certificates reloaded on SIGHUP), and good clients
//! served through a flood of bad tokens and slow-loris clients.

use crate::common;
use crate::gw;

mod answers;
mod audit_s8;
mod auth;
mod blackbox;
mod browsers;
mod hardening;
mod ingress;
mod lifecycle;
mod limits;
mod mcp;
mod observability;
mod requests;
mod retest;
mod retest_s23;
mod retest_s7;
mod retest_s8;
mod retest_s9;
mod scan_budget;
mod sessions;
mod startup;
mod stdio;
mod tool_security;
mod tools;
mod upstream_credentials;

use common::{expect_exit, run};
use gw::{bearer, call, now, secret, token, token_with, Gateway, Upstream, Webhook};
use http_body_util::BodyExt;
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn config(up: &Upstream, extra_route: &str, extra: &str) -> String {
    format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n{extra}\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
         upstream = \"http://{}/mcp\"\naudience = \"filesystem\"\n{extra_route}\n",
        up.addr
    )
}

const MCP: &str = "application/json, text/event-stream";

/// Variables set for one `gateway check`.
type Env<'a> = Vec<(&'a str, &'a str)>;

/// `n` random bytes as hex: a fresh secret for one test.
fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A config with routes for the hardening tests: `/mcp/filesystem` → `http://up/mcp`, plus
/// `routes` (more `[[gateway.routes]]` text) and `extra` (more `[gateway]` keys).
fn hardened(up: &Upstream, extra: &str, routes: &str) -> String {
    format!(
        "[gateway]\nlisten = \"127.0.0.1:8443\"\n{extra}\n\n[[gateway.routes]]\npath = \"/mcp/filesystem\"\n\
         upstream = \"http://{}/mcp\"\naudience = \"filesystem\"\n{routes}\n",
        up.addr
    )
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A bare HTTP/1.1 upstream answering every request head with `{}` (keep-alive, no
/// `Connection: close`). It counts the connections it accepts; with `close_after`, it closes each
/// connection that long after its first answer without a word, as an upstream's idle timeout does.
async fn counting_upstream(
    close_after: Option<Duration>,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let conns = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = conns.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if s.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                        if let Some(after) = close_after {
                            tokio::time::sleep(after).await;
                            return;
                        }
                    }
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (addr, conns)
}
