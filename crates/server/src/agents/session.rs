//! One host's WebSocket: `Welcome`, then the host's `Hello`; from then on heartbeats and
//! reports come in, and jobs, orders and acknowledgements go out as the hub sends them.
//! A host silent for three heartbeats is taken as gone (a dead peer does not always close
//! its connection); it may come back on a new connection.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use host::agent::protocol::{ControlMessage, HostMessage};

use super::host_of;
use crate::AppState;

pub async fn connect(State(state): State<Arc<AppState>>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    match host_of(&state, &headers).await {
        Ok(host) => ws.on_upgrade(move |socket| serve(state, host, socket)),
        Err(refusal) => refusal.into_response(),
    }
}

async fn serve(state: Arc<AppState>, host: String, socket: WebSocket) {
    let hub = state.hub.clone();
    let (mut sink, mut incoming) = socket.split();
    let (tx, mut outgoing) = tokio::sync::mpsc::unbounded_channel::<ControlMessage>();
    let welcome = ControlMessage::Welcome {
        replica: hub.replica().to_string(),
        heartbeat_ms: hub.heartbeat.as_millis() as u64,
        region: hub.region().to_string(),
    };
    let _ = tx.send(welcome);
    let heartbeat = hub.heartbeat;
    let writer = tokio::spawn(async move {
        // The host gives up on a server silent for three heartbeats, as this side does on
        // a silent host, and an idle control plane has nothing to say: so it pings at the
        // heartbeat pace. The first ping waits a heartbeat, so the welcome goes first.
        let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let frame = tokio::select! {
                biased;
                next = outgoing.recv() => match next {
                    Some(message) => match serde_json::to_string(&message) {
                        Ok(text) => Message::Text(text.into()),
                        Err(_) => continue,
                    },
                    None => break,
                },
                _ = keepalive.tick() => Message::Ping(Default::default()),
            };
            if sink.send(frame).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });

    let silence = hub.heartbeat * 3;
    let mut session: Option<u64> = None;
    loop {
        let next = match tokio::time::timeout(silence, incoming.next()).await {
            Ok(Some(Ok(message))) => message,
            Ok(_) => break,
            Err(_) => {
                tracing::warn!(%host, "host silent for three heartbeats; closing its connection");
                break;
            }
        };
        let text = match next {
            Message::Text(text) => text,
            Message::Binary(bytes) if session.is_some() => {
                state.remote_access.remote.picture(&bytes);
                continue;
            }
            Message::Close(_) => break,
            _ => continue,
        };
        let message: HostMessage = match serde_json::from_str(text.as_str()) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%host, error = %e, "unreadable message from a host");
                break;
            }
        };
        match message {
            HostMessage::Hello { devices, running, browsers } => {
                let id = hub.open(&host, tx.clone());
                session = Some(id);
                if let Err(e) = hub.hello(&host, devices, running).await {
                    tracing::warn!(%host, error = %e, "host refused");
                    let _ = tx.send(ControlMessage::Refused { reason: e.to_string() });
                    break;
                }
                if !browsers.is_empty() {
                    tracing::info!(%host, browsers = browsers.len(), "host offers desktop browsers");
                }
                state.grid.remote.connected(&host, id, tx.clone(), browsers);
                state.remote_access.remote.connected(&host, id, tx.clone());
                tracing::info!(%host, "host connected");
            }
            _ if session.is_none() => {
                tracing::warn!(%host, "host spoke before its hello");
                break;
            }
            HostMessage::Heartbeat { devices } => hub.heartbeat(&host, devices).await,
            message @ (HostMessage::BrowserStarted { .. }
            | HostMessage::BrowserAnswer { .. }
            | HostMessage::BrowserDied { .. }
            | HostMessage::BrowserEnded { .. }) => state.grid.remote.received(message),
            message @ (HostMessage::ScreenStarted { .. }
            | HostMessage::ScreenConfig { .. }
            | HostMessage::ScreenPicture { .. }
            | HostMessage::ScreenAnswer { .. }
            | HostMessage::ScreenEnded { .. }) => state.remote_access.remote.received(message),
            HostMessage::Report { seq, job_arn, report } => match hub.report(&host, &job_arn, report).await {
                Ok(()) => {
                    let _ = tx.send(ControlMessage::Ack { seq });
                }
                Err(e) if e.contains("does not run on host") => {
                    // Nothing this host says about that job will ever count: acknowledge
                    // so it stops resending.
                    tracing::warn!(%host, job = %job_arn, "report about another host's job ignored");
                    let _ = tx.send(ControlMessage::Ack { seq });
                }
                Err(e) => {
                    // Not stored: the host keeps the report and resends it on reconnect.
                    tracing::warn!(%host, job = %job_arn, error = %e, "storing a host's report failed");
                    break;
                }
            },
        }
    }
    if let Some(id) = session {
        state.grid.remote.disconnected(&host, id);
        state.remote_access.remote.disconnected(&host, id);
        hub.close(&host, id).await;
    }
    drop(tx);
    let _ = writer.await;
}
