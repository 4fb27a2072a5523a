//! The listener: one accept loop hands connections round-robin to worker threads, each running
//! its own single-threaded runtime and upstream pool (thread per core, as nginx runs a process
//! per core: a request never hops between threads). Connections are HTTP/1.1 with a
//! request-head timeout and size limit (slow-loris and oversized-header defence) and upgrades.
//! SIGTERM/SIGINT stop accepting and let in-flight requests finish (30 s at most); SIGHUP reloads
//! the configuration and keys without dropping connections.

use crate::gateway::{upstream_client, Gateway};
use crate::service;
use arc_swap::ArcSwap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{mpsc, watch};

/// Builds a fresh gateway from the configuration on disk (for SIGHUP).
pub type Reloader = Box<
    dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = Result<Gateway, String>> + Send>>
        + Send
        + Sync,
>;

/// How long shutdown waits for in-flight requests.
const DRAIN: Duration = Duration::from_secs(30);

type Shared = Arc<ArcSwap<Gateway>>;

/// The gateway as one worker hands it to requests: a worker-own `Arc` around the shared one, so
/// the per-request clone touches a counter no other thread writes.
pub type Local = Arc<Arc<Gateway>>;

thread_local! {
    static LOCAL: std::cell::RefCell<Option<Local>> = const { std::cell::RefCell::new(None) };
}

/// The current gateway for this worker thread (a new one after a reload).
fn local(state: &Shared) -> Local {
    let current = state.load();
    LOCAL.with(|l| {
        let mut l = l.borrow_mut();
        match &*l {
            Some(mine) if Arc::ptr_eq(&**mine, &*current) => mine.clone(),
            _ => {
                let mine = Arc::new(Arc::clone(&current));
                *l = Some(mine.clone());
                mine
            }
        }
    })
}

/// Binds `addr` for listening with room for `backlog` connections waiting to be accepted
/// (`[gateway] backlog`; tokio's own `bind` asks for 128, which a burst of idle connections
/// overflows). The kernel caps it at `net.core.somaxconn`. Call inside a tokio runtime.
pub fn bind(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Serves with `workers` threads (at least one) until `shutdown` completes, then drains
/// in-flight requests (at most 30 s). Call from a tokio runtime; it runs the accept loop,
/// signals and reloads, the workers run the requests.
pub async fn serve(
    listener: TcpListener,
    initial: Gateway,
    reload: Option<Reloader>,
    shutdown: impl Future<Output = ()>,
    workers: usize,
) -> std::io::Result<()> {
    let state: Shared = Arc::new(ArcSwap::from_pointee(initial));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut queues = Vec::new();
    let mut done = Vec::new();
    for i in 0..workers.max(1) {
        let (tx, rx) = mpsc::unbounded_channel::<(std::net::TcpStream, SocketAddr)>();
        let (state, stop) = (state.clone(), stop_rx.clone());
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("vigil-gw-{i}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a worker runtime");
                rt.block_on(worker(rx, state, stop));
                let _ = done_tx.send(());
            })?;
        queues.push(tx);
        done.push(done_rx);
    }
    let shrinker = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                state.load().shrink();
            }
        })
    };
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::pin!(shutdown);
    let mut next = 0usize;
    loop {
        #[cfg(unix)]
        let hangup = hup.recv();
        #[cfg(not(unix))]
        let hangup = std::future::pending::<Option<()>>();
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(stream) = stream.into_std() else { continue };
                let _ = queues[next % queues.len()].send((stream, peer));
                next = next.wrapping_add(1);
            }
            Some(()) = hangup => {
                let next = match reload.as_ref() {
                    Some(r) => Some(r().await),
                    None => None,
                };
                match next {
                    Some(Ok(next)) => {
                        state.store(Arc::new(next));
                        tracing::info!("configuration and keys reloaded (SIGHUP)");
                    }
                    Some(Err(e)) => tracing::error!(error = %e, "reload failed; keeping the running configuration"),
                    None => tracing::warn!("SIGHUP ignored: no configuration to reload"),
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    drop(queues);
    shrinker.abort();
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = stop_tx.send(true);
    let all = async {
        for d in done {
            let _ = d.await;
        }
    };
    if tokio::time::timeout(DRAIN, all).await.is_err() {
        tracing::warn!("in-flight requests still running after 30s; closing");
    }
    crate::access_log::flush_all();
    Ok(())
}

/// One worker: serves the connections it is handed until the queue closes, then waits for them.
async fn worker(
    mut rx: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    state: Shared,
    stop: watch::Receiver<bool>,
) {
    let client = upstream_client();
    // Each connection holds a clone of `alive`; the worker ends when every clone is gone.
    let (alive, mut all_done) = mpsc::channel::<()>(1);
    while let Some((stream, peer)) = rx.recv().await {
        let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let gw_now = state.load_full();
        let serve = Serve {
            state: state.clone(),
            client: client.clone(),
            peer,
            header_timeout: gw_now.settings.header_timeout,
            header_limit: gw_now.settings.header_limit,
            stop: stop.clone(),
            alive: alive.clone(),
        };
        match gw_now.tls.clone() {
            None => {
                tokio::spawn(serve.run(stream));
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    // The handshake shares the request-head deadline (slow-loris defence).
                    match tokio::time::timeout(serve.header_timeout, acceptor.accept(stream)).await
                    {
                        Ok(Ok(tls)) => serve.run(tls).await,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, client = %peer, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(client = %peer, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
    drop(alive);
    let _ = all_done.recv().await;
}

/// One accepted connection, ready to be served over plain TCP or TLS.
struct Serve {
    state: Shared,
    client: crate::gateway::UpstreamClient,
    peer: SocketAddr,
    header_timeout: Duration,
    header_limit: usize,
    stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
}

impl Serve {
    /// Serves HTTP/1.1 on `io` until the client leaves or shutdown drains the connection.
    async fn run<I>(self, io: I)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Serve {
            state,
            client,
            peer,
            header_timeout,
            header_limit,
            mut stop,
            alive,
        } = self;
        let conn = http1::Builder::new()
            // One copy of a small answer into the head buffer costs less than a vectored write
            // (and TLS streams mostly cannot take one).
            .writev(false)
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(header_limit)
            .keep_alive(true)
            .serve_connection(
                TokioIo::new(io),
                service_fn({
                    let peer = Arc::new(service::Peer::new(peer));
                    let state = state.clone();
                    move |req| service::handle(local(&state), client.clone(), peer.clone(), req)
                }),
            )
            .with_upgrades();
        let mut conn = std::pin::pin!(conn);
        let ended = tokio::select! {
            r = conn.as_mut() => r,
            _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = ended {
            tracing::debug!(error = %e, client = %peer, "connection ended");
            refused_head(&state.load(), &e, peer);
        }
        drop(alive);
    }
}

/// Counts (and, when hyper answered it, logs) a request whose head hyper refused before it
/// reached the pipeline: malformed (400) or too large (431), or not sent in time.
fn refused_head(gw: &Gateway, e: &hyper::Error, peer: SocketAddr) {
    let (reason, status) = if e.is_parse_too_large() {
        ("head_too_large", Some(431))
    } else if e.is_parse() {
        ("bad_head", Some(400))
    } else if e.is_timeout() {
        ("header_timeout", None)
    } else {
        return;
    };
    gw.metrics
        .malformed
        .get_or_create(&crate::metrics::Reason {
            reason: reason.into(),
        })
        .inc();
    if let Some(status) = status {
        let ip = peer.ip().to_string();
        crate::access_log::record(
            std::time::SystemTime::now(),
            &crate::access_log::Entry {
                route: "-",
                status,
                latency: Duration::ZERO,
                subject: "-",
                client_ip: &ip,
                http_method: "-",
                rpc_method: "-",
                tool: "-",
            },
        );
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn terminate() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
