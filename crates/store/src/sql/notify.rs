//! Notifications between replicas: a short text on a named channel, heard by every
//! replica listening (the sender included). PostgreSQL's LISTEN/NOTIFY carries them
//! between processes; with SQLite there is one process, and a broadcast channel suffices.
//!
//! They are hints to act sooner, never the only way a replica learns something: a
//! notification sent while a listener reconnects is lost, and whatever it announced is
//! also found by the next scheduler pass.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::StreamExt;
use sqlx::postgres::PgListener;
use sqlx::AnyPool;
use tokio::sync::broadcast;

use crate::StoreError;

/// Messages a slow local listener may fall behind by before it skips some (it then
/// relies on the scheduler pass, as for a lost notification).
const LOCAL_BACKLOG: usize = 1024;
/// Pause after a failed PostgreSQL listen before trying again.
const RELISTEN: Duration = Duration::from_millis(500);

pub(crate) enum Notifier {
    Local(Mutex<HashMap<String, broadcast::Sender<String>>>),
    Postgres { url: String },
}

impl Notifier {
    fn local_sender(
        channels: &Mutex<HashMap<String, broadcast::Sender<String>>>,
        channel: &str,
    ) -> Result<broadcast::Sender<String>, StoreError> {
        let mut channels = channels.lock().map_err(|_| StoreError::Invalid("notification channels poisoned".into()))?;
        Ok(channels.entry(channel.to_string()).or_insert_with(|| broadcast::channel(LOCAL_BACKLOG).0).clone())
    }

    pub(crate) async fn notify(&self, pool: &AnyPool, channel: &str, payload: &str) -> Result<(), StoreError> {
        match self {
            Notifier::Local(channels) => {
                // No listener is not an error: nobody needed telling.
                let _ = Self::local_sender(channels, channel)?.send(payload.to_string());
                Ok(())
            }
            Notifier::Postgres { .. } => {
                sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(pool).await?;
                Ok(())
            }
        }
    }

    pub(crate) async fn listen(&self, channel: &str) -> Result<BoxStream<'static, String>, StoreError> {
        match self {
            Notifier::Local(channels) => {
                let rx = Self::local_sender(channels, channel)?.subscribe();
                let stream = futures::stream::unfold(rx, |mut rx| async move {
                    loop {
                        match rx.recv().await {
                            Ok(payload) => return Some((payload, rx)),
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => return None,
                        }
                    }
                });
                Ok(stream.boxed())
            }
            Notifier::Postgres { url } => {
                let mut listener = PgListener::connect(url).await?;
                listener.listen(channel).await?;
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                let channel = channel.to_string();
                tokio::spawn(async move {
                    loop {
                        match listener.recv().await {
                            Ok(notification) => {
                                if tx.send(notification.payload().to_string()).is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                // PgListener reconnects (and listens again) on the next recv.
                                tracing::warn!(%channel, error = %e, "listening for notifications failed; retrying");
                                tokio::time::sleep(RELISTEN).await;
                            }
                        }
                    }
                });
                Ok(tokio_stream_from(rx))
            }
        }
    }
}

fn tokio_stream_from(mut rx: tokio::sync::mpsc::UnboundedReceiver<String>) -> BoxStream<'static, String> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}
