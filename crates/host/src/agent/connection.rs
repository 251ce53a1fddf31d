//! Keeping a connection to the control plane: connect to a server (moving to the next one
//! of the list when it fails), be welcomed, say hello with the devices and the jobs still
//! running here, then heartbeat and act on what the server sends until the connection ends.
//! Reports not acknowledged go again on the next connection.

use std::sync::Arc;
use std::time::Duration;

use crate::agent::protocol::{ControlMessage, HostMessage};
use anyhow::{anyhow, bail, Context, Result};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::Agent;

/// Longest wait between attempts; the first retry is almost at once, so a blip or a
/// replica's restart costs little.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// How long a server has to say welcome.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn keep_connected(agent: Arc<Agent>) {
    let mut backoff = FIRST_BACKOFF;
    let mut index = 0usize;
    loop {
        let server = agent.config.servers[index % agent.config.servers.len()].clone();
        match session(&agent, &server).await {
            Ok(Ended::Closed) => {
                tracing::info!(%server, "connection to the server ended");
                backoff = FIRST_BACKOFF;
            }
            Ok(Ended::SentAway(reason)) => {
                tracing::info!(%server, %reason, "the server sent this host to another replica");
                backoff = FIRST_BACKOFF;
                index += 1;
            }
            Err(e) => {
                let error = format!("{e:#}");
                // A refusal (bad token, devices another host has) needs an operator; a
                // failed connection usually only needs time.
                if error.contains("refused this host") || error.contains("401") {
                    tracing::error!(%server, %error, "the server does not accept this host");
                } else {
                    tracing::warn!(%server, %error, "connection to the server failed");
                }
                index += 1;
            }
        }
        agent.link.disconnected();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn websocket_url(server: &str) -> Result<String> {
    let mut url = url::Url::parse(server).with_context(|| format!("server {server:?}"))?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme).map_err(|()| anyhow!("cannot make a WebSocket URL of {server}"))?;
    url.set_path(crate::agent::protocol::CONNECT_PATH);
    Ok(url.to_string())
}

/// How a session ended without an error.
enum Ended {
    Closed,
    /// The replica is shutting down and asked for another one to be used.
    SentAway(String),
}

async fn session(agent: &Arc<Agent>, server: &str) -> Result<Ended> {
    let mut request = websocket_url(server)?.into_client_request()?;
    request.headers_mut().insert(
        tokio_tungstenite::tungstenite::http::header::AUTHORIZATION,
        format!("Bearer {}", agent.config.token).parse().context("the token is not header text")?,
    );
    // Only wss:// uses the connector; ws:// stays plain.
    let tls = tokio_tungstenite::Connector::Rustls(agent.config.tls.clone());
    let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(tls))
        .await
        .context("connecting")?;
    let (mut sink, mut incoming) = socket.split();

    let welcome = tokio::time::timeout(WELCOME_TIMEOUT, incoming.next()).await.context("no welcome from the server")?;
    let (replica, heartbeat, region) = match welcome {
        Some(Ok(Message::Text(text))) => match serde_json::from_str::<ControlMessage>(text.as_str())? {
            ControlMessage::Welcome { replica, heartbeat_ms, region } => {
                (replica, Duration::from_millis(heartbeat_ms.max(100)), region)
            }
            other => bail!("expected a welcome, got {other:?}"),
        },
        other => bail!("expected a welcome, got {other:?}"),
    };
    let mut running = agent.executor.running_jobs();
    running.extend(agent.link.unfinished_business());
    running.sort();
    running.dedup();
    let hello = HostMessage::Hello { devices: agent.devices.all(&region), running, browsers: agent.browsers.offers() };
    sink.send(Message::Text(serde_json::to_string(&hello)?.into())).await?;
    tracing::info!(%server, %replica, "connected to the server");

    let (tx, mut outgoing) = tokio::sync::mpsc::unbounded_channel::<HostMessage>();
    agent.link.connected(server.to_string(), tx.clone());
    let writer = tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            let frame = match &message {
                HostMessage::ScreenPicture { session, picture } => {
                    Message::Binary(crate::agent::protocol::encode_picture(session, picture).into())
                }
                other => match serde_json::to_string(other) {
                    Ok(text) => Message::Text(text.into()),
                    Err(_) => continue,
                },
            };
            if sink.send(frame).await.is_err() {
                break;
            }
        }
    });
    let beats = {
        let agent = agent.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(heartbeat).await;
                if tx.send(HostMessage::Heartbeat { devices: agent.devices.changed() }).is_err() {
                    break;
                }
            }
        })
    };
    let ended = receive(agent, &mut incoming, heartbeat * 3, &tx).await;
    beats.abort();
    writer.abort();
    // The server ended this host's browser and remote access sessions with the connection.
    agent.browsers.end_all();
    agent.screens.end_all();
    ended
}

async fn receive<S>(
    agent: &Arc<Agent>,
    incoming: &mut S,
    silence: Duration,
    tx: &tokio::sync::mpsc::UnboundedSender<HostMessage>,
) -> Result<Ended>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = match tokio::time::timeout(silence, incoming.next()).await {
            Ok(Some(message)) => message.context("reading from the server")?,
            Ok(None) => return Ok(Ended::Closed),
            Err(_) => bail!("the server has been silent for {silence:?}"),
        };
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => return Ok(Ended::Closed),
            _ => continue,
        };
        match serde_json::from_str::<ControlMessage>(text.as_str()).context("reading a message from the server")? {
            ControlMessage::Run { assignment } => {
                let job_arn = assignment.job_arn.clone();
                agent.link.assign(*assignment);
                agent.executor.start(job_arn);
            }
            ControlMessage::Orders { job_arn, orders } => {
                agent.link.set_orders(&job_arn, orders);
                if orders.time_out {
                    agent.executor.request_timeout(&job_arn);
                }
                if orders.stop {
                    agent.executor.request_stop(&job_arn);
                }
            }
            ControlMessage::Forget { job_arn } => {
                tracing::info!(job = %job_arn, "the server ended this job without us; ending its processes");
                agent.link.forget(&job_arn);
                agent.executor.request_stop(&job_arn);
            }
            ControlMessage::Ack { seq } => agent.link.acknowledged(seq),
            ControlMessage::Refused { reason } => bail!("the server refused this host: {reason}"),
            ControlMessage::GoAway { reason } => return Ok(Ended::SentAway(reason)),
            ControlMessage::Welcome { .. } => {}
            ControlMessage::BrowserStart { session, kind, request } => {
                agent.browsers.start(session, kind, request, tx.clone());
            }
            ControlMessage::BrowserCommand { session, seq, method, path, query, body } => {
                agent.browsers.command(session, seq, method, path, query, body, tx.clone());
            }
            ControlMessage::BrowserEnd { session } => agent.browsers.end(session, agent.link.clone(), tx.clone()),
            ControlMessage::ScreenStart { session, serial, width, height, video, network, proxy } => {
                agent.screens.start(session, serial, (width, height), video, (network, proxy), tx.clone());
            }
            ControlMessage::ScreenInput { session, seq, input } => agent.screens.input(session, seq, input, tx.clone()),
            ControlMessage::ScreenInstall { session, seq, path } => {
                agent.screens.install(session, seq, path, agent.link.clone(), tx.clone());
            }
            ControlMessage::ScreenStop { session } => agent.screens.stop(session),
        }
    }
}
