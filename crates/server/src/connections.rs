//! Accepts connections and serves the router on each, with limits on slow clients. Our own
//! loop rather than `axum::serve` because axum gives hyper no timer, and without one hyper
//! waits forever for a request's headers: a client sending a byte a second (slowloris) would
//! hold a connection and a task for as long as it likes.
//!
//! Only the headers and the JSON API's body are timed. Upload bodies, downloads, followed
//! output and agent WebSockets may rightly last as long as a job.

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use futures::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long a client may take to send a request's headers, and the JSON API's body.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimit(pub Duration);

/// Serves `app` on `listener` until `stop` resolves, then stops accepting and waits for
/// the open connections to finish their requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limit: ReadLimit,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (stopping, _) = tokio::sync::watch::channel(false);
    // Each connection holds a receiver; `closed()` resolves when the last one is gone.
    let (open_tx, open_rx) = tokio::sync::watch::channel(());
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let app = tower::Layer::layer(&axum::Extension(ConnectInfo(peer)), app.clone());
        let service =
            TowerToHyperService::new(app.map_request(|req: Request<hyper::body::Incoming>| req.map(Body::new)));
        let mut stopping = stopping.subscribe();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(limit.0);
            builder.http2().timer(TokioTimer::new()).enable_connect_protocol();
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let mut told = false;
            loop {
                tokio::select! {
                    ended = conn.as_mut() => {
                        if let Err(e) = ended {
                            tracing::debug!(%peer, error = %e, "connection ended");
                        }
                        break;
                    }
                    changed = stopping.wait_for(|s| *s), if !told => {
                        told = true;
                        if changed.is_ok() {
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
            drop(open);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}

/// Middleware for the JSON API: its body must arrive within the limit. A late body ends in
/// an error the body extractor reports, and the connection is not kept.
pub async fn body_deadline(limit: axum::extract::State<ReadLimit>, request: Request, next: Next) -> Response {
    let deadline = tokio::time::Instant::now() + limit.0 .0;
    let (parts, body) = request.into_parts();
    let chunks = body.into_data_stream();
    let timed = futures::stream::unfold(Some(chunks), move |chunks| async move {
        let mut chunks = chunks?;
        match tokio::time::timeout_at(deadline, chunks.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(chunks))),
            Ok(None) => None,
            Err(_) => Some((Err(axum::Error::new("the request body was not received in time")), None)),
        }
    });
    next.run(Request::from_parts(parts, Body::from_stream(timed))).await
}

/// The client's address, when the request came through [`serve`].
pub fn peer(request_extensions: &http::Extensions) -> Option<std::net::IpAddr> {
    request_extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}
