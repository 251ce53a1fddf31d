//! A viewer's WebSocket (`/remote-access/TOKEN/ws`): the session's screen going out, the
//! viewer's input coming in. The token (the session's endpoint, or one the dashboard mints
//! for a signed-in user of the account) is the only key: sealed, expiring, for one session.
//!
//! Out: text messages (`hello`, `status`, `config`, `ack`, `refused`, `ended`) and binary
//! pictures: one flags byte (1 = key picture), the picture's time in milliseconds (8 bytes,
//! big-endian), then the picture (an H.264 access unit, or a PNG).
//! In: `{"op":"input","seq":N,"input":{…}}`, `{"op":"stop"}`.

use super::live::{InputOutcome, LiveSession};
use crate::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::arn::{Arn, ResourceKind};
use domain::remote_access::input::ViewerInput;
use domain::remote_access::RemoteSession;
use futures::{SinkExt, StreamExt};
use host::screen::Frame;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/remote-access/{token}/ws", get(socket))
}

/// The session a token opens, if it is one of ours and has not expired.
pub fn session_of_token(state: &AppState, token: &str) -> Result<Arn, crate::sealed_url::TokenError> {
    let grant = state.remote_access.key.open(token, state.now_ms())?;
    Ok(Arn::new(&state.region, &grant.account_id, ResourceKind::Session, grant.resource))
}

/// Marks a viewer's connection one replica opened to another for it: never relayed again.
const RELAYED: &str = "x-farmhand-relayed";

#[derive(Deserialize, Default)]
struct SocketQuery {
    /// `fmp4`: the browser plays fragmented MP4 (no WebCodecs).
    #[serde(default)]
    format: Option<String>,
}

async fn socket(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    Query(query): Query<SocketQuery>,
    headers: http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let relayed = headers.contains_key(RELAYED);
    let fmp4 = query.format.as_deref() == Some("fmp4");
    match session_of_token(&state, &token) {
        Ok(arn) => ws.on_upgrade(move |socket| serve(state, arn, token, Viewing { relayed, fmp4 }, socket)),
        Err(e) => (http::StatusCode::FORBIDDEN, e.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum ClientMessage {
    Input { seq: u64, input: serde_json::Value },
    Stop,
}

fn text(value: serde_json::Value) -> Message {
    Message::Text(value.to_string().into())
}

async fn stored(state: &AppState, arn: &Arn) -> Option<RemoteSession> {
    state.store.get(&arn.account, &arn.to_string()).await.ok()??.decode().ok()
}

/// How a viewer connected: through another replica, and whether it plays fragmented MP4.
struct Viewing {
    relayed: bool,
    fmp4: bool,
}

async fn serve(state: Arc<AppState>, arn: Arn, token: String, viewing: Viewing, socket: WebSocket) {
    let (mut sink, mut incoming) = socket.split();
    // Until the session's screen is up here: its status as it changes.
    let mut last_status = String::new();
    let live = loop {
        if let Some(live) = state.remote_access.session(&arn.to_string()) {
            break live;
        }
        let Some(session) = stored(&state, &arn).await else {
            let _ = sink.send(text(json!({"type": "ended", "message": "There is no such session."}))).await;
            return;
        };
        let view = session.view(state.now_ms());
        let elsewhere = session.screen_owner.as_deref().is_some_and(|o| o != state.remote_access.replica());
        if elsewhere && !viewing.relayed && session.ready_ms.is_some() && session.ended_ms.is_none() {
            // Another replica serves the screen: this one passes the viewer's messages on.
            if let Some(url) = &session.owner_url {
                relay(sink, incoming, url, &token, viewing.fmp4).await;
                return;
            }
        }
        if view.status == domain::job::status::ExecutionStatus::Completed {
            let message = view.message.unwrap_or_else(|| "The session has ended.".into());
            let _ = sink.send(text(json!({"type": "ended", "message": message}))).await;
            return;
        }
        let status = view.status.as_str().to_string();
        if status != last_status {
            let message = json!({"type": "status", "status": status, "device": session.device.name});
            if sink.send(text(message)).await.is_err() {
                return;
            }
            last_status = status;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            next = incoming.next() => match next {
                Some(Ok(Message::Text(t))) => {
                    if let Ok(ClientMessage::Stop) = serde_json::from_str(t.as_str()) {
                        let _ = state.remote_access.request_stop(&state, &arn).await;
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    };
    live.viewer_joined(state.now_ms());
    let (replies, outgoing) = mpsc::unbounded_channel::<Message>();
    let hello = json!({
        "type": "hello",
        "mode": live.mode.as_str(),
        "device": {"name": live.device_name, "width": live.width, "height": live.height},
        "rotation": live.rotation().quarter_turns() * 90,
    });
    if sink.send(text(hello)).await.is_err() {
        live.viewer_left(state.now_ms());
        return;
    }
    let writer = tokio::spawn(write(live.clone(), sink, outgoing, viewing.fmp4));
    while let Some(Ok(message)) = incoming.next().await {
        let Message::Text(body) = message else {
            if matches!(message, Message::Close(_)) {
                break;
            }
            continue;
        };
        match serde_json::from_str::<ClientMessage>(body.as_str()) {
            Ok(ClientMessage::Input { seq, input }) => {
                let reply = match serde_json::from_value::<ViewerInput>(input) {
                    Err(e) => json!({"type": "refused", "seq": seq, "message": format!("not an input: {e}")}),
                    Ok(input) => match live.input(&input, state.now_ms()).await {
                        InputOutcome::Done => json!({"type": "ack", "seq": seq}),
                        InputOutcome::Refused(why) => json!({"type": "refused", "seq": seq, "message": why}),
                    },
                };
                let _ = replies.send(text(reply));
            }
            Ok(ClientMessage::Stop) => {
                if let Err(e) = state.remote_access.request_stop(&state, &arn).await {
                    let _ = replies.send(text(json!({"type": "refused", "message": e.to_string()})));
                }
            }
            Err(e) => {
                let _ = replies.send(text(json!({"type": "refused", "message": format!("not a message: {e}")})));
            }
        }
    }
    live.viewer_left(state.now_ms());
    drop(replies);
    writer.abort();
}

/// Carries a viewer's connection to the replica serving its session, both ways, until either
/// side closes.
async fn relay(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut incoming: futures::stream::SplitStream<WebSocket>,
    owner_url: &str,
    token: &str,
    fmp4: bool,
) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message as Upstream;
    let format = if fmp4 { "?format=fmp4" } else { "" };
    let target = format!("{}/remote-access/{token}/ws{format}", owner_url.replacen("http", "ws", 1));
    let request = target.into_client_request().map(|mut r| {
        r.headers_mut().insert(RELAYED, http::HeaderValue::from_static("1"));
        r
    });
    let connected = match request {
        Ok(request) => tokio_tungstenite::connect_async(request).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let (mut up_sink, mut up_stream) = match connected {
        Ok((socket, _)) => socket.split(),
        Err(e) => {
            let message = format!("The replica serving this session cannot be reached: {e}");
            let _ = sink.send(text(json!({"type": "ended", "message": message}))).await;
            return;
        }
    };
    let down = async {
        while let Some(Ok(message)) = up_stream.next().await {
            let message = match message {
                Upstream::Text(t) => Message::Text(t.as_str().into()),
                Upstream::Binary(b) => Message::Binary(b),
                Upstream::Close(_) => break,
                _ => continue,
            };
            if sink.send(message).await.is_err() {
                break;
            }
        }
    };
    let up = async {
        while let Some(Ok(message)) = incoming.next().await {
            let message = match message {
                Message::Text(t) => Upstream::Text(t.as_str().into()),
                Message::Binary(b) => Upstream::Binary(b),
                Message::Close(_) => break,
                _ => continue,
            };
            if up_sink.send(message).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        _ = down => {}
        _ = up => {}
    }
}

fn picture_message(key: bool, at_ms: u64, data: &[u8]) -> Message {
    picture_message_with(u8::from(key), at_ms, data)
}

fn picture_message_with(flags: u8, at_ms: u64, data: &[u8]) -> Message {
    let mut out = Vec::with_capacity(data.len() + 9);
    out.push(flags);
    out.extend_from_slice(&at_ms.to_be_bytes());
    out.extend_from_slice(data);
    Message::Binary(out.into())
}

enum Event {
    Reply(Option<Message>),
    Segment(Option<bytes::Bytes>),
    Frame(Result<Frame, RecvError>),
}

/// Sends the screen (when the session shows it) and the replies to the viewer: H.264 pictures
/// as they are, or, for a browser without WebCodecs (`fmp4`), the same pictures remuxed into
/// fragmented MP4 (binary messages with flags 2).
async fn write(
    live: Arc<LiveSession>,
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut replies: mpsc::UnboundedReceiver<Message>,
    fmp4: bool,
) {
    let watch = live.feed.watch();
    let mut backlog: std::collections::VecDeque<Frame> = watch.catch_up.into();
    let mut frames = Some(watch.live);
    let shows_screen = live.mode.shows_screen();
    // After falling behind, pictures resume at the next key picture.
    let mut want_key = false;
    let mut remuxer: Option<super::fmp4::Remuxer> = None;
    loop {
        let event = match backlog.pop_front() {
            Some(frame) => Event::Frame(Ok(frame)),
            None => tokio::select! {
                biased;
                reply = replies.recv() => Event::Reply(reply),
                segment = async {
                    match remuxer.as_mut() {
                        Some(r) => r.output.recv().await,
                        None => std::future::pending().await,
                    }
                } => Event::Segment(segment),
                frame = async {
                    match frames.as_mut() {
                        Some(f) => f.recv().await,
                        None => std::future::pending().await,
                    }
                } => Event::Frame(frame),
            },
        };
        let message = match event {
            Event::Reply(Some(reply)) => reply,
            Event::Reply(None) => break,
            Event::Segment(Some(bytes)) => picture_message_with(2, 0, &bytes),
            Event::Segment(None) => {
                remuxer = None;
                continue;
            }
            Event::Frame(Err(RecvError::Lagged(_))) => {
                want_key = true;
                continue;
            }
            Event::Frame(Err(RecvError::Closed)) => {
                frames = None;
                continue;
            }
            Event::Frame(Ok(Frame::Config(_) | Frame::Picture(_))) if !shows_screen => continue,
            Event::Frame(Ok(Frame::Config(config))) => {
                want_key = true;
                if let Some(old) = remuxer.take() {
                    old.finish().await;
                }
                if fmp4 && config.is_h264() {
                    remuxer = super::fmp4::Remuxer::start()
                        .map_err(|e| tracing::warn!(error = %e, "starting ffmpeg for a viewer without WebCodecs"))
                        .ok();
                }
                let container = if remuxer.is_some() { "fmp4" } else { "none" };
                text(json!({
                    "type": "config", "codec": config.codec, "width": config.width, "height": config.height,
                    "container": container,
                }))
            }
            Event::Frame(Ok(Frame::Picture(p))) => {
                if want_key && !p.key {
                    continue;
                }
                want_key = false;
                match remuxer.as_mut() {
                    Some(r) => {
                        if r.push(&p.data).await.is_err() {
                            remuxer = None;
                        }
                        continue;
                    }
                    None => picture_message(p.key, p.at_ms, &p.data),
                }
            }
            Event::Frame(Ok(Frame::Ended(why))) => text(json!({"type": "ended", "message": why})),
        };
        if sink.send(message).await.is_err() {
            break;
        }
    }
    if let Some(r) = remuxer {
        r.finish().await;
    }
    let _ = sink.close().await;
}
