//! A simulated device's screen for remote access: farmhand draws it (the device's frame and
//! name, its resolution, the service clock, the last touches and keys and the text typed)
//! and streams it like a real device's, so sessions, streaming, input and recording work
//! end to end without a phone and tests can see their input arrive.

use domain::clock::Clock;
use domain::remote_access::input::{DeviceInput, Rotation};
use embedded_graphics::mono_font::ascii::{FONT_10X20, FONT_6X10};
use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Circle, Line, PrimitiveStyle, Rectangle, RoundedRectangle};
use embedded_graphics::text::{Alignment, Text};
use host::screen::encoder::Encoder;
use host::screen::{DeviceScreen, Frame, ScreenFeed};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// The picture's longer side: enough to read, small enough to encode many at once.
const LONG_SIDE: u32 = 640;
const TOUCHES_SHOWN: usize = 6;
const TEXT_SHOWN: usize = 120;

/// A touch in device pixels: where it began and, for a swipe, where it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    pub x: u32,
    pub y: u32,
    pub to: Option<(u32, u32)>,
}

/// What the screen shows besides the clock: what the device was told.
#[derive(Debug, Clone, Default)]
pub struct SimState {
    pub rotation: Rotation,
    /// Last touches, newest last.
    pub touches: VecDeque<Touch>,
    pub typed: String,
    pub last_key: Option<String>,
    pub installed: Vec<String>,
    pub inputs: u64,
}

/// An RGB picture being drawn.
struct Canvas {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl OriginDimensions for Canvas {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Canvas {
    type Color = Rgb888;
    type Error = std::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Rgb888>>>(&mut self, pixels: I) -> Result<(), Self::Error> {
        for Pixel(point, color) in pixels {
            if point.x >= 0 && point.y >= 0 && (point.x as u32) < self.width && (point.y as u32) < self.height {
                let i = ((point.y as u32 * self.width + point.x as u32) * 3) as usize;
                self.rgb[i..i + 3].copy_from_slice(&[color.r(), color.g(), color.b()]);
            }
        }
        Ok(())
    }
}

/// The picture size for a device of `width` × `height` turned by `rotation`: its shape,
/// scaled so its longer side is [`LONG_SIDE`], in even numbers (H.264 wants them).
pub fn picture_size(width: u32, height: u32, rotation: Rotation) -> (u32, u32) {
    let (w, h) = rotation.turn(width.max(1), height.max(1));
    let scale = f64::from(LONG_SIDE) / f64::from(w.max(h));
    let even = |v: u32| ((f64::from(v) * scale).round() as u32 / 2 * 2).max(2);
    (even(w), even(h))
}

/// Draws the screen of a device named `name` (natural size `width` × `height`) at `now_ms`.
pub fn draw(name: &str, width: u32, height: u32, state: &SimState, now_ms: i64) -> (u32, u32, Vec<u8>) {
    let (pw, ph) = picture_size(width, height, state.rotation);
    let (sw, _) = state.rotation.turn(width, height);
    let scale = f64::from(pw) / f64::from(sw.max(1));
    let mut canvas = Canvas { width: pw, height: ph, rgb: vec![0; (pw * ph * 3) as usize] };
    let _ = draw_on(&mut canvas, name, width, height, state, now_ms, scale);
    (pw, ph, canvas.rgb)
}

fn draw_on(
    c: &mut Canvas,
    name: &str,
    width: u32,
    height: u32,
    state: &SimState,
    now_ms: i64,
    scale: f64,
) -> Result<(), std::convert::Infallible> {
    let (w, h) = (c.width as i32, c.height as i32);
    let white = MonoTextStyle::new(&FONT_10X20, Rgb888::WHITE);
    let small = MonoTextStyle::new(&FONT_6X10, Rgb888::new(200, 210, 230));
    Rectangle::new(Point::zero(), Size::new(c.width, c.height))
        .into_styled(PrimitiveStyle::with_fill(Rgb888::new(24, 32, 52)))
        .draw(c)?;
    // The device's frame and its status bar.
    RoundedRectangle::with_equal_corners(
        Rectangle::new(Point::new(4, 4), Size::new(c.width - 8, c.height - 8)),
        Size::new(18, 18),
    )
    .into_styled(PrimitiveStyle::with_stroke(Rgb888::new(120, 140, 180), 3))
    .draw(c)?;
    let clock = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default().format("%H:%M:%S").to_string();
    Text::new(&clock, Point::new(16, 30), white).draw(c)?;
    // Something always moves, so a viewer can tell a live screen from a frozen one.
    let sweep = ((now_ms / 50) % i64::from(w.max(1))) as i32;
    Rectangle::new(Point::new(sweep, 40), Size::new(24, 4))
        .into_styled(PrimitiveStyle::with_fill(Rgb888::new(90, 200, 140)))
        .draw(c)?;
    Text::with_alignment(name, Point::new(w / 2, h / 3), white, Alignment::Center).draw(c)?;
    let turned = state.rotation.turn(width, height);
    let detail = format!("{} x {}  rotation {}", turned.0, turned.1, state.rotation.quarter_turns() * 90);
    Text::with_alignment(&detail, Point::new(w / 2, h / 3 + 22), small, Alignment::Center).draw(c)?;
    let inputs = format!("inputs {}", state.inputs);
    Text::with_alignment(&inputs, Point::new(w / 2, h / 3 + 36), small, Alignment::Center).draw(c)?;
    if let Some(key) = &state.last_key {
        Text::with_alignment(key, Point::new(w / 2, h / 3 + 56), white, Alignment::Center).draw(c)?;
    }
    // The text typed, wrapped to the picture's width.
    let per_line = ((w - 32) / 6).max(1) as usize;
    let tail: String = state.typed.chars().rev().take(TEXT_SHOWN).collect::<Vec<_>>().into_iter().rev().collect();
    for (i, line) in tail.as_bytes().chunks(per_line).enumerate() {
        let line = String::from_utf8_lossy(line);
        Text::new(&line, Point::new(16, h * 2 / 3 + i as i32 * 12), small).draw(c)?;
    }
    let at = |x: u32, y: u32| Point::new((f64::from(x) * scale) as i32, (f64::from(y) * scale) as i32);
    let count = state.touches.len();
    for (i, Touch { x, y, to }) in state.touches.iter().enumerate() {
        let shade = 255 - ((count - 1 - i) * 30).min(200) as u8;
        let color = Rgb888::new(shade, shade / 2, 40);
        Circle::with_center(at(*x, *y), 22).into_styled(PrimitiveStyle::with_stroke(color, 3)).draw(c)?;
        if let Some((x2, y2)) = to {
            Line::new(at(*x, *y), at(*x2, *y2)).into_styled(PrimitiveStyle::with_stroke(color, 3)).draw(c)?;
        }
    }
    Ok(())
}

impl SimState {
    /// Takes in what the device was told.
    pub fn apply(&mut self, input: &DeviceInput) {
        self.inputs += 1;
        let mut touch = |t| {
            self.touches.push_back(t);
            while self.touches.len() > TOUCHES_SHOWN {
                self.touches.pop_front();
            }
        };
        match input {
            DeviceInput::Tap { x, y } | DeviceInput::LongPress { x, y, .. } => touch(Touch { x: *x, y: *y, to: None }),
            DeviceInput::Swipe { x1, y1, x2, y2, .. } => touch(Touch { x: *x1, y: *y1, to: Some((*x2, *y2)) }),
            DeviceInput::Text { text } => self.typed.push_str(text),
            DeviceInput::Key { key } => self.last_key = Some(key.keycode().to_owned()),
            DeviceInput::Rotate { rotation } => self.rotation = *rotation,
        }
    }
}

/// A simulated device's screen, drawn and encoded `fps` times a second until closed.
pub struct SimScreen {
    feed: ScreenFeed,
    udid: String,
    state: Arc<Mutex<SimState>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SimScreen {
    pub fn start(
        name: &str,
        udid: &str,
        width: u32,
        height: u32,
        fps: u32,
        clock: Arc<dyn Clock>,
        video: bool,
    ) -> std::io::Result<SimScreen> {
        let feed = ScreenFeed::new();
        let state = Arc::new(Mutex::new(SimState::default()));
        let (stop, stopped) = watch::channel(false);
        let task = {
            let (feed, state, name) = (feed.clone(), state.clone(), name.to_owned());
            let encoder = if video {
                let (pw, ph) = picture_size(width, height, Rotation::Natural);
                Some(Encoder::start(pw, ph, fps, feed.clone())?)
            } else {
                None
            };
            tokio::spawn(paint(name, width, height, fps.max(1), clock, state, feed, encoder, stopped))
        };
        Ok(SimScreen { feed, udid: udid.to_owned(), state, stop, task })
    }

    pub fn state(&self) -> SimState {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

#[allow(clippy::too_many_arguments)]
async fn paint(
    name: String,
    width: u32,
    height: u32,
    fps: u32,
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<SimState>>,
    feed: ScreenFeed,
    mut encoder: Option<Encoder>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(u64::from(1000 / fps)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            _ = tick.tick() => {}
        }
        let Some(current) = encoder.as_mut() else { continue };
        let snapshot = state.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let (pw, ph, rgb) = draw(&name, width, height, &snapshot, clock.now_ms());
        if (pw, ph) != (current.width, current.height) {
            // Turned: the picture changes shape, and the stream starts over with it.
            if let Some(old) = encoder.take() {
                old.finish().await;
            }
            match Encoder::start(pw, ph, fps, feed.clone()) {
                Ok(fresh) => encoder = Some(fresh),
                Err(e) => {
                    feed.publish(Frame::Ended(format!("the screen's encoder failed: {e}")));
                    return;
                }
            }
        }
        let Some(current) = encoder.as_mut() else { continue };
        if let Err(e) = current.encode(&rgb).await {
            feed.publish(Frame::Ended(format!("the screen's encoder failed: {e}")));
            return;
        }
    }
    if let Some(encoder) = encoder {
        encoder.finish().await;
    }
}

#[async_trait::async_trait]
impl DeviceScreen for SimScreen {
    fn feed(&self) -> ScreenFeed {
        self.feed.clone()
    }

    fn udid(&self) -> String {
        self.udid.clone()
    }

    async fn input(&self, input: &DeviceInput) -> Result<(), String> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).apply(input);
        Ok(())
    }

    async fn install(&self, app: &host::screen::InstallRequest) -> Result<(), String> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).installed.push(app.app_arn.clone());
        Ok(())
    }

    fn lost(&self) -> Option<String> {
        // Its own end, not a loss: closing publishes nothing.
        self.feed.ended()
    }

    async fn close(self: Box<Self>) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::remote_access::input::Key;

    #[test]
    fn pictures_keep_the_devices_shape_turned() {
        assert_eq!(picture_size(1080, 2400, Rotation::Natural), (288, 640));
        assert_eq!(picture_size(1080, 2400, Rotation::Left), (640, 288));
    }

    #[test]
    fn input_shows_on_the_screen() {
        let mut state = SimState::default();
        let blank = draw("Pixel", 1080, 2400, &state, 0).2;
        state.apply(&DeviceInput::Tap { x: 540, y: 1800 });
        state.apply(&DeviceInput::Text { text: "hello".into() });
        state.apply(&DeviceInput::Key { key: Key::Home });
        let drawn = draw("Pixel", 1080, 2400, &state, 0).2;
        assert_ne!(blank, drawn);
        assert_eq!(state.typed, "hello");
        assert_eq!(state.last_key.as_deref(), Some("KEYCODE_HOME"));
        // The tap's ring is drawn at the tap, scaled: (540, 1800) of 1080 x 2400 → (144, 480).
        let (w, _, rgb) = draw("Pixel", 1080, 2400, &state, 0);
        let ring = |x: u32, y: u32| {
            let i = ((y * w + x) * 3) as usize;
            (rgb[i], rgb[i + 1], rgb[i + 2])
        };
        assert_eq!(ring(144 + 11, 480), (255, 127, 40));
    }

    #[test]
    fn the_clock_moves_the_picture() {
        let state = SimState::default();
        assert_ne!(draw("P", 100, 200, &state, 0).2, draw("P", 100, 200, &state, 1_000).2);
    }
}
