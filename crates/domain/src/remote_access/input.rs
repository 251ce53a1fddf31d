//! What a viewer may do to a device, and how a viewer's gesture becomes the device's.
//!
//! A viewer sends points as fractions (0..1) of the picture it shows, so its own size and
//! zoom do not matter; the picture is the device's screen as turned now, which is also the
//! coordinate space Android's `input` command takes, so a point maps by scaling alone.
//! Anything outside this vocabulary is refused before it reaches a device.

use serde::{Deserialize, Serialize};

/// The device keys a viewer may press.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Key {
    Home,
    Back,
    AppSwitch,
    VolumeUp,
    VolumeDown,
    Power,
    Enter,
    Delete,
}

impl Key {
    /// Android's key code name.
    pub fn keycode(self) -> &'static str {
        match self {
            Key::Home => "KEYCODE_HOME",
            Key::Back => "KEYCODE_BACK",
            Key::AppSwitch => "KEYCODE_APP_SWITCH",
            Key::VolumeUp => "KEYCODE_VOLUME_UP",
            Key::VolumeDown => "KEYCODE_VOLUME_DOWN",
            Key::Power => "KEYCODE_POWER",
            Key::Enter => "KEYCODE_ENTER",
            Key::Delete => "KEYCODE_DEL",
        }
    }
}

/// The screen's turn from its natural (portrait) orientation, in quarter turns, as
/// Android's `user_rotation` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Rotation {
    #[default]
    #[serde(rename = "0")]
    Natural,
    #[serde(rename = "90")]
    Left,
    #[serde(rename = "180")]
    UpsideDown,
    #[serde(rename = "270")]
    Right,
}

impl Rotation {
    pub fn quarter_turns(self) -> u8 {
        match self {
            Rotation::Natural => 0,
            Rotation::Left => 1,
            Rotation::UpsideDown => 2,
            Rotation::Right => 3,
        }
    }

    /// The screen's size as shown, from its natural size.
    pub fn turn(self, width: u32, height: u32) -> (u32, u32) {
        if self.quarter_turns() % 2 == 1 {
            (height, width)
        } else {
            (width, height)
        }
    }
}

/// A viewer's gesture, in fractions of the picture it shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ViewerInput {
    Tap { x: f64, y: f64 },
    LongPress { x: f64, y: f64, ms: u32 },
    Swipe { x1: f64, y1: f64, x2: f64, y2: f64, ms: u32 },
    Text { text: String },
    Key { key: Key },
    Rotate { rotation: Rotation },
}

/// A gesture in the device's pixels: what the device is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeviceInput {
    Tap { x: u32, y: u32 },
    LongPress { x: u32, y: u32, ms: u32 },
    Swipe { x1: u32, y1: u32, x2: u32, y2: u32, ms: u32 },
    Text { text: String },
    Key { key: Key },
    Rotate { rotation: Rotation },
}

/// The longest text one input may type, and the longest gesture.
pub const MAX_TEXT: usize = 1000;
pub const MAX_GESTURE_MS: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("a point must lie in the picture (0 to 1 each way), not {0}")]
    OffScreen(String),
    #[error("a gesture lasts 1 to {MAX_GESTURE_MS} ms, not {0}")]
    Duration(u32),
    #[error("text is 1 to {MAX_TEXT} printable ASCII characters (Android's input text types no others)")]
    Text,
}

fn point(x: f64, y: f64, (width, height): (u32, u32)) -> Result<(u32, u32), InputError> {
    let inside = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
    if !inside(x) || !inside(y) {
        return Err(InputError::OffScreen(format!("({x}, {y})")));
    }
    // The last pixel is width - 1: a point on the picture's right edge is on the screen.
    let scale = |v: f64, size: u32| ((v * f64::from(size)).floor() as u32).min(size.saturating_sub(1));
    Ok((scale(x, width), scale(y, height)))
}

fn duration(ms: u32) -> Result<u32, InputError> {
    if (1..=MAX_GESTURE_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(InputError::Duration(ms))
    }
}

impl ViewerInput {
    /// The gesture on a screen of natural size `width` × `height` turned by `rotation`.
    pub fn to_device(&self, width: u32, height: u32, rotation: Rotation) -> Result<DeviceInput, InputError> {
        let shown = rotation.turn(width, height);
        Ok(match self {
            ViewerInput::Tap { x, y } => {
                let (x, y) = point(*x, *y, shown)?;
                DeviceInput::Tap { x, y }
            }
            ViewerInput::LongPress { x, y, ms } => {
                let (x, y) = point(*x, *y, shown)?;
                DeviceInput::LongPress { x, y, ms: duration(*ms)? }
            }
            ViewerInput::Swipe { x1, y1, x2, y2, ms } => {
                let (x1, y1) = point(*x1, *y1, shown)?;
                let (x2, y2) = point(*x2, *y2, shown)?;
                DeviceInput::Swipe { x1, y1, x2, y2, ms: duration(*ms)? }
            }
            ViewerInput::Text { text } => {
                let printable = text.chars().all(|c| c == ' ' || c.is_ascii_graphic());
                if text.is_empty() || text.len() > MAX_TEXT || !printable {
                    return Err(InputError::Text);
                }
                DeviceInput::Text { text: text.clone() }
            }
            ViewerInput::Key { key } => DeviceInput::Key { key: *key },
            ViewerInput::Rotate { rotation } => DeviceInput::Rotate { rotation: *rotation },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_tap_scales_to_the_screen_as_turned() {
        let tap = ViewerInput::Tap { x: 0.5, y: 0.25 };
        assert_eq!(tap.to_device(1080, 2400, Rotation::Natural), Ok(DeviceInput::Tap { x: 540, y: 600 }));
        assert_eq!(tap.to_device(1080, 2400, Rotation::Left), Ok(DeviceInput::Tap { x: 1200, y: 270 }));
        let corner = ViewerInput::Tap { x: 1.0, y: 1.0 };
        assert_eq!(corner.to_device(1080, 2400, Rotation::Natural), Ok(DeviceInput::Tap { x: 1079, y: 2399 }));
    }

    #[test]
    fn what_is_outside_the_vocabulary_is_refused() {
        assert!(ViewerInput::Tap { x: 1.5, y: 0.0 }.to_device(10, 10, Rotation::Natural).is_err());
        assert!(ViewerInput::Tap { x: f64::NAN, y: 0.0 }.to_device(10, 10, Rotation::Natural).is_err());
        assert!(ViewerInput::LongPress { x: 0.0, y: 0.0, ms: 0 }.to_device(10, 10, Rotation::Natural).is_err());
        assert!(ViewerInput::Text { text: "tab\there".into() }.to_device(10, 10, Rotation::Natural).is_err());
        assert!(ViewerInput::Text { text: "é".into() }.to_device(10, 10, Rotation::Natural).is_err());
        let unknown = serde_json::from_str::<ViewerInput>(r#"{"type":"shell","command":"reboot"}"#);
        assert!(unknown.is_err());
        let extra = serde_json::from_str::<ViewerInput>(r#"{"type":"tap","x":0,"y":0,"command":"reboot"}"#);
        assert!(extra.is_err());
    }

    #[test]
    fn viewers_speak_json() {
        let input: ViewerInput = serde_json::from_str(r#"{"type":"key","key":"app_switch"}"#).unwrap();
        assert_eq!(input, ViewerInput::Key { key: Key::AppSwitch });
        let input: ViewerInput = serde_json::from_str(r#"{"type":"rotate","rotation":"90"}"#).unwrap();
        assert_eq!(input, ViewerInput::Rotate { rotation: Rotation::Left });
    }

    proptest! {
        #[test]
        fn every_point_in_the_picture_lands_on_the_screen(x in 0.0..=1.0f64, y in 0.0..=1.0f64, w in 1..4000u32, h in 1..4000u32, turns in 0..4u8) {
            let rotation = [Rotation::Natural, Rotation::Left, Rotation::UpsideDown, Rotation::Right][turns as usize];
            let (sw, sh) = rotation.turn(w, h);
            match (ViewerInput::Tap { x, y }).to_device(w, h, rotation) {
                Ok(DeviceInput::Tap { x, y }) => prop_assert!(x < sw && y < sh),
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
