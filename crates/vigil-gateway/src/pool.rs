//! One worker's upstream connections: HTTP/1.1 connections (`hyper::client::conn::http1`) kept
//! per upstream and reused once the previous answer's body has been read to its end; a request on
//! a kept connection that turns out to be closed is sent again on a fresh one (it was never
//! sent). Each worker thread owns its pool, so no lock is ever contended.

use crate::body::{Body, BoxError};
use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// Idle connections kept per upstream.
const MAX_IDLE: usize = 256;

/// Why an upstream request failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No connection could be made.
    #[error("cannot connect to the upstream: {0}")]
    Connect(String),
    /// The connection failed during the exchange.
    #[error("upstream protocol error: {0}")]
    Protocol(#[from] hyper::Error),
}

/// Idle connections by upstream authority. The keys come from the configuration, so a fast
/// hasher is safe.
type Idle = HashMap<String, Vec<SendRequest<Body>>, foldhash::fast::RandomState>;

/// A worker's pool of upstream connections.
#[derive(Clone, Default)]
pub struct Pool {
    idle: Arc<Mutex<Idle>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pool")
    }
}

impl Pool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    fn checkout(&self, authority: &str) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(authority)?;
        while let Some(s) = list.pop() {
            if s.is_ready() {
                return Some(s);
            }
        }
        None
    }

    fn checkin(&self, authority: &str, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        // The key is copied only the first time.
        let list = match idle.get_mut(authority) {
            Some(list) => list,
            None => idle.entry(authority.to_owned()).or_default(),
        };
        if list.len() < MAX_IDLE {
            list.push(sender);
        }
    }

    async fn connect(authority: &str) -> Result<SendRequest<Body>, UpstreamError> {
        let stream = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::TcpStream::connect(authority),
        )
        .await
        .map_err(|_| UpstreamError::Connect("timed out".into()))?
        .map_err(|e| UpstreamError::Connect(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .writev(false)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| UpstreamError::Connect(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended");
            }
        });
        Ok(sender)
    }

    /// Sends `req` to `authority`; the answer's body returns the connection to the pool when it
    /// ends (an upgraded or abandoned connection is not reused).
    pub async fn send(
        &self,
        authority: &Arc<str>,
        mut req: Request<Body>,
    ) -> Result<Response<Body>, UpstreamError> {
        let upgrade = req.headers().contains_key(http::header::UPGRADE);
        let mut sender = loop {
            match self.checkout(authority) {
                Some(mut s) => match s.try_send_request(req).await {
                    Ok(resp) => return Ok(self.wrap(authority, s, resp, upgrade)),
                    Err(mut e) => match e.take_message() {
                        // Never written: the kept connection was closed; try another.
                        Some(back) => req = back,
                        None => return Err(UpstreamError::Protocol(e.into_error())),
                    },
                },
                // Boxed: connecting (a TCP connect and hyper's handshake) is a large future
                // that every request's would otherwise carry, for the rare request that opens
                // a connection.
                None => break Box::pin(Self::connect(authority)).await?,
            }
        };
        let resp = sender.send_request(req).await?;
        Ok(self.wrap(authority, sender, resp, upgrade))
    }

    fn wrap(
        &self,
        authority: &Arc<str>,
        sender: SendRequest<Body>,
        resp: Response<Incoming>,
        upgrade: bool,
    ) -> Response<Body> {
        let keep = !upgrade && resp.status() != http::StatusCode::SWITCHING_PROTOCOLS;
        resp.map(|inner| {
            let done = keep.then(|| (self.clone(), Arc::clone(authority), sender));
            let mut body = Returning { inner, done };
            if body.inner.is_end_stream() {
                // Nothing to read (204, HEAD, empty): the connection is free now.
                body.finish();
            }
            http_body_util::BodyExt::boxed(body)
        })
    }
}

/// An upstream answer's body that puts its connection back in the pool at its end.
struct Returning {
    inner: Incoming,
    done: Option<(Pool, Arc<str>, SendRequest<Body>)>,
}

impl Returning {
    fn finish(&mut self) {
        if let Some((pool, authority, sender)) = self.done.take() {
            pool.checkin(&authority, sender);
        }
    }
}

impl hyper::body::Body for Returning {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.finish(),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => self.finish(),
            Poll::Ready(Some(Err(_))) => self.done = None,
            _ => {}
        }
        polled.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
