//! A response body produced inside the span of the request it answers. A streamed body
//! (the dashboard's server-sent events, `GET /output/…`, a download, a video) is polled
//! after its handler has returned, outside the handler's span; entering the request's span
//! on each poll gives what the stream logs (its store reads among them) the request's id.

use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use tracing::Span;

struct InSpan {
    inner: Body,
    span: Span,
}

/// `body`, polled inside `span`. Its size hint passes through, so a response with a known
/// length keeps its `Content-Length`.
pub fn in_span(body: Body, span: Span) -> Body {
    Body::new(InSpan { inner: body, span })
}

impl HttpBody for InSpan {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        Pin::new(&mut this.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use futures::StreamExt;
    use http_body_util::BodyExt;
    use std::sync::{Arc, Mutex};
    use tracing::field::{Field, Visit};
    use tracing::Subscriber;
    use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
    use tracing_subscriber::registry::LookupSpan;
    use tracing_subscriber::Layer;

    /// Each event's message and the innermost span it was logged in.
    type Seen = Vec<(String, Option<String>)>;

    #[derive(Clone, Default)]
    struct Spans(Arc<Mutex<Seen>>);

    struct Message(String);
    impl Visit for Message {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0 = format!("{value:?}");
            }
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
        fn on_event(&self, event: &tracing::Event<'_>, ctx: LayerContext<'_, S>) {
            let mut message = Message(String::new());
            event.record(&mut message);
            let span = ctx.event_span(event).map(|s| s.name().to_string());
            self.0.lock().unwrap().push((message.0, span));
        }
    }

    fn logging_stream() -> Body {
        let chunks = futures::stream::iter(["a", "b"]).map(|chunk| {
            tracing::info!("producing {chunk}");
            Ok::<_, std::io::Error>(Bytes::from(chunk))
        });
        Body::from_stream(chunks)
    }

    #[tokio::test]
    async fn a_streamed_body_logs_inside_the_span_it_was_given() {
        let spans = Spans::default();
        let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
        let span = tracing::info_span!("request");
        let body = in_span(logging_stream(), span);
        let bare = logging_stream();
        assert_eq!(body.collect().await.unwrap().to_bytes(), "ab");
        assert_eq!(bare.collect().await.unwrap().to_bytes(), "ab");
        let seen = spans.0.lock().unwrap().clone();
        let request = Some("request".to_string());
        assert_eq!(
            seen,
            vec![
                ("producing a".into(), request.clone()),
                ("producing b".into(), request),
                ("producing a".into(), None),
                ("producing b".into(), None),
            ]
        );
    }

    #[test]
    fn the_size_hint_passes_through() {
        let body = in_span(Body::from("twelve bytes"), Span::none());
        assert_eq!(body.size_hint().exact(), Some(12));
        assert!(!body.is_end_stream());
        assert!(in_span(Body::empty(), Span::none()).is_end_stream());
    }
}
