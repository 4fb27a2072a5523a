//! The least a hyper reverse proxy does, as a floor under `bench/gateway.sh`'s Vigil rows: the
//! gateway's shape (a thread per core, each with its own single-threaded tokio runtime, hyper's
//! HTTP/1 server and client) and nothing else: no token, no limit, no log, no header rewritten,
//! one upstream connection per client connection. What this costs per request is what any
//! gateway built on hyper pays before it checks anything.
//!
//! ```sh
//! cargo run --release -p vigil-gateway --example floor -- 127.0.0.1:8080 127.0.0.1:9000 2
//! ```

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::rc::Rc;
use tokio::sync::Mutex;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(listen), Some(upstream)) = (args.first(), args.get(1)) else {
        let _ = writeln!(std::io::stderr(), "usage: floor LISTEN UPSTREAM [THREADS]");
        std::process::exit(2);
    };
    let listen: SocketAddr = listen.parse().expect("LISTEN is an address");
    let upstream: SocketAddr = upstream.parse().expect("UPSTREAM is an address");
    let threads: usize = args
        .get(2)
        .map_or(2, |t| t.parse().expect("THREADS is a number"));
    let listener = std::net::TcpListener::bind(listen).expect("bind LISTEN");
    listener.set_nonblocking(true).expect("non-blocking");
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let l = listener.try_clone().expect("listener");
            std::thread::spawn(move || serve(l, upstream))
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}

/// One worker: accepts from the shared listener and proxies each connection on its own runtime.
fn serve(listener: std::net::TcpListener, upstream: SocketAddr) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::task::spawn_local(async move {
                let Ok(up) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = up.set_nodelay(true);
                let Ok((send, conn)) =
                    hyper::client::conn::http1::handshake::<_, Incoming>(TokioIo::new(up)).await
                else {
                    return;
                };
                tokio::task::spawn_local(conn);
                let send = Rc::new(Mutex::new(send));
                let service = service_fn(move |req: Request<Incoming>| {
                    let send = send.clone();
                    async move {
                        let mut send = send.lock().await;
                        let resp = match send.send_request(req).await {
                            Ok(r) => r.map(http_body_util::Either::Left),
                            Err(_) => Response::builder()
                                .status(502)
                                .body(http_body_util::Either::Right(http_body_util::Empty::<
                                    bytes::Bytes,
                                >::new(
                                )))
                                .expect("a 502"),
                        };
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
