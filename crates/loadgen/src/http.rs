//! One keep-alive HTTP/1.1 connection per simulated client, as an SDK holds one per thread.
//! hyper's low-level client is used instead of a pooled client so that a worker's requests
//! never wait for a connection another worker holds: concurrency is exactly the worker count.

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;

/// A request ready to go: everything but the connection.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: http::Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

pub struct Connection {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
    /// The server said it closes after its last answer (HTTP/1.0, as moto's server speaks,
    /// or `Connection: close`): the next request needs a new connection, as any client's would.
    closing: bool,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Result<Connection> {
        let stream = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        // The connection task ends on its own when the server closes or the sender is dropped.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Connection { addr, sender, closing: false })
    }

    /// Sends `req`, on a new connection if the server closed or said it would close the last.
    pub async fn send(&mut self, req: &Request) -> Result<Response> {
        if self.closing || self.sender.is_closed() {
            *self = Connection::open(self.addr).await?;
        }
        self.sender.ready().await?;
        let mut builder = http::Request::builder().method(req.method.clone()).uri(&req.path);
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        let response = self.sender.send_request(builder.body(Full::new(req.body.clone()))?).await?;
        let status = response.status().as_u16();
        self.closing = response.version() == http::Version::HTTP_10
            || response
                .headers()
                .get(http::header::CONNECTION)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Response { status, body })
    }
}
