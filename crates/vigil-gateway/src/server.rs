//! The listener: [`Server::bind`] binds a [`Prepared`] configuration's address; one accept loop
//! hands connections round-robin to worker threads, each running its own single-threaded runtime
//! and its own state ([`Worker`]: upstream pool, caches, log buffer; thread per core, as nginx
//! runs a process per core: a request never hops between threads). Connections are HTTP/1.1 with a
//! request-head timeout and size limit (slow-loris and oversized-header defence) and upgrades.
//! SIGTERM/SIGINT stop accepting and let in-flight requests finish (30 s at most); SIGHUP reloads
//! the configuration and keys without dropping connections.

use crate::access_log::{AccessFormat, AccessLog, Writer};
use crate::gateway::{BuildError, Gateway};
use crate::metrics::{HeadRefusal, Metrics};
use crate::prepare::{PrepareError, Prepared, Reload};
use crate::service;
use crate::worker::{Current, Worker};
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

/// How long shutdown waits for in-flight requests.
const DRAIN: Duration = Duration::from_secs(30);

/// How long a shutdown waits for the audit writer to write what is queued.
const AUDIT_FLUSH: Duration = Duration::from_secs(10);

/// Why the gateway cannot start serving.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address cannot be bound.
    #[error("cannot listen on {listen}: {error}")]
    Bind {
        /// The address.
        listen: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// The gateway's state cannot be built.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Why a SIGHUP reload was refused (the running configuration stays).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The configuration on disk fails a start-up check.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// Its state cannot be built.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// How to serve: worker threads, the access log, and what SIGHUP does.
#[derive(Debug)]
pub struct ServeOptions {
    /// Worker threads (at least one).
    pub workers: usize,
    /// The access log's format (`Off` for none).
    pub access_log: AccessFormat,
    /// How SIGHUP rebuilds the gateway; without one SIGHUP is ignored (and says so).
    pub reload: Option<Reload>,
}

/// A prepared gateway bound to its address, ready to serve.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    bound: SocketAddr,
    gateway: Gateway,
}

impl Server {
    /// Binds the prepared listen address with room for `[gateway] backlog` waiting connections
    /// and builds the gateway's state for it (its public URL follows the bound address unless
    /// `public_url` is set). Call inside a tokio runtime.
    pub async fn bind(mut prepared: Prepared) -> Result<Server, StartError> {
        let listen = prepared.settings.listen;
        let bind_error = |error| StartError::Bind { listen, error };
        let listener = bind(listen, prepared.settings.backlog).map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        prepared.settings.use_bound_address(bound);
        let gateway = Gateway::new(prepared, Arc::new(Metrics::new())).await?;
        Ok(Server {
            listener,
            bound,
            gateway,
        })
    }

    /// The address bound (the port chosen when `listen` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.bound
    }

    /// The gateway it serves.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Serves until `shutdown` completes, then drains in-flight requests (at most 30 s). Call
    /// from a tokio runtime; it runs the accept loop, signals and reloads, the workers run the
    /// requests.
    pub async fn serve(
        self,
        options: ServeOptions,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let Server {
            listener,
            bound,
            gateway,
        } = self;
        let metrics = gateway.metrics.clone();
        let current: Current = Arc::new(ArcSwap::from_pointee(gateway));
        let access_log = AccessLog::new(options.access_log);
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut queues = Vec::new();
        let mut done = Vec::new();
        for n in 0..options.workers.max(1) {
            let (tx, rx) = mpsc::unbounded_channel::<(std::net::TcpStream, SocketAddr)>();
            let (current, stop, log) = (current.clone(), stop_rx.clone(), access_log.writer());
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            std::thread::Builder::new()
                .name(format!("vigil-gw-{n}"))
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a worker runtime");
                    rt.block_on(worker(Worker::new(n, current, log), rx, stop));
                    let _ = done_tx.send(());
                })?;
            queues.push(tx);
            done.push(done_rx);
        }
        let shrinker = {
            let current = current.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    current.load().shrink();
                }
            })
        };
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::pin!(shutdown);
        let mut next = 0usize;
        // A reload runs beside the accept loop (its discovery and checks block, on the
        // blocking pool): connections keep being accepted meanwhile. A SIGHUP that comes
        // during one starts another once it is over.
        let reloader = options.reload.map(Arc::new);
        type Reloading = std::pin::Pin<Box<dyn Future<Output = Result<Gateway, ReloadError>>>>;
        let start = |r: &Arc<Reload>| -> Reloading {
            Box::pin(reload(
                r.clone(),
                bound,
                metrics.clone(),
                current.load_full(),
            ))
        };
        let mut pending: Option<Reloading> = None;
        let mut again = false;
        loop {
            let reloading = async {
                match pending.as_mut() {
                    Some(f) => f.await,
                    None => std::future::pending().await,
                }
            };
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
                    match &reloader {
                        Some(_) if pending.is_some() => again = true,
                        Some(r) => pending = Some(start(r)),
                        None => tracing::warn!("SIGHUP ignored: no configuration to reload"),
                    }
                }
                done = reloading => {
                    pending = None;
                    match done {
                        Ok(next) => {
                            current.store(Arc::new(next));
                            tracing::info!("configuration and keys reloaded (SIGHUP)");
                        }
                        Err(e) => tracing::error!(error = %e, "reload failed; keeping the running configuration"),
                    }
                    if let (true, Some(r)) = (std::mem::take(&mut again), &reloader) {
                        pending = Some(start(r));
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
        access_log.flush_all();
        // The audit lines of the calls just finished are written before the process ends (a
        // stop by systemd or Kubernetes is a SIGTERM: it must not drop them).
        let gw = current.load_full();
        let flushed =
            tokio::task::spawn_blocking(move || gw.audit.as_ref().map(|a| a.flush(AUDIT_FLUSH)))
                .await;
        match flushed {
            Ok(None) | Ok(Some(Some(0))) => {}
            Ok(Some(Some(n))) => tracing::error!(
                lines = n,
                "shutting down with audit lines that could not be written; they are lost"
            ),
            Ok(Some(None)) | Err(_) => tracing::error!(
                "the audit writer did not finish within {}s; queued audit lines may be lost",
                AUDIT_FLUSH.as_secs()
            ),
        }
        Ok(())
    }
}

/// The configuration on disk, prepared (every start-up refusal applied again) and built for the
/// socket already bound, counting into the running metrics.
async fn reload(
    r: Arc<Reload>,
    bound: SocketAddr,
    metrics: Arc<Metrics>,
    old: Arc<Gateway>,
) -> Result<Gateway, ReloadError> {
    // Reading files, resolving names and OpenID Connect discovery block: off the runtime.
    let mut prepared = match tokio::task::spawn_blocking(move || r.prepare(bound)).await {
        Ok(p) => p?,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    prepared.settings.use_bound_address(bound);
    prepared.carry_from(&old);
    // The old catalogs (not the rest of the old gateway) live until the new one is built, so
    // its routes share their tool holds (`holds::Holds::shared`), also those a listing still
    // answered through the old gateway adds later.
    let catalogs = old.catalogs.clone();
    drop(old);
    let gateway = Gateway::new(prepared, metrics).await;
    drop(catalogs);
    Ok(gateway?)
}

/// Binds `addr` for listening with room for `backlog` connections waiting to be accepted
/// (`[gateway] backlog`; tokio's own `bind` asks for 128, which a burst of idle connections
/// overflows). The kernel caps it at `net.core.somaxconn`. Call inside a tokio runtime.
fn bind(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
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

/// One worker: serves the connections it is handed until the queue closes, then waits for them.
async fn worker(
    me: Worker,
    mut rx: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    stop: watch::Receiver<bool>,
) {
    let me = Arc::new(me);
    // Each connection holds a clone of `alive`; the worker ends when every clone is gone.
    let (alive, mut all_done) = mpsc::channel::<()>(1);
    while let Some((stream, peer)) = rx.recv().await {
        let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let gw_now = me.gateway();
        let serve = Serve {
            worker: me.clone(),
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
    worker: Arc<Worker>,
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
            worker,
            peer,
            header_timeout,
            header_limit,
            mut stop,
            alive,
        } = self;
        // Whether a request came through: a keep-alive connection that then idles out is not a
        // slow request head, and is not counted as one.
        let served = Arc::new(std::sync::atomic::AtomicBool::new(false));
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
                    let worker = worker.clone();
                    let served = served.clone();
                    move |req| {
                        served.store(true, std::sync::atomic::Ordering::Relaxed);
                        service::handle(worker.gateway(), worker.clone(), peer.clone(), req)
                    }
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
            let idle = e.is_timeout() && served.load(std::sync::atomic::Ordering::Relaxed);
            if !idle {
                refused_head(&worker.gateway(), &worker.log, &e, peer);
            }
        }
        drop(alive);
    }
}

/// Counts (and, when hyper answered it, logs) a request whose head hyper refused before it
/// reached the pipeline: malformed (400) or too large (431), or not sent in time.
fn refused_head(gw: &Gateway, log: &Writer, e: &hyper::Error, peer: SocketAddr) {
    let refusal = if e.is_parse_too_large() {
        HeadRefusal::HeadTooLarge
    } else if e.is_parse() {
        HeadRefusal::BadHead
    } else if e.is_timeout() {
        HeadRefusal::HeaderTimeout
    } else {
        return;
    };
    gw.metrics
        .malformed
        .get_or_create(&crate::metrics::Reason {
            reason: refusal.as_str().into(),
        })
        .inc();
    if let Some(status) = refusal.status() {
        let ip = peer.ip().to_string();
        log.record(
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
                outcome: None,
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
