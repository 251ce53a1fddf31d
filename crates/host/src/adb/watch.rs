//! Noticing devices come and go, by asking `adb devices` at an interval (adb's own
//! `track-devices` needs the server protocol, not the executable).

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use super::command::Adb;
use super::parse::DeviceState;

/// A device became usable, or stopped being usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// The serial is listed in the `device` state.
    Plugged(String),
    /// The serial is no longer listed in the `device` state: unplugged, offline,
    /// or its authorisation revoked — in every case no job can use it.
    Unplugged(String),
}

/// Polls `adb devices` every `interval` and reports changes, starting with a
/// `Plugged` event for each device usable at the first poll. A poll that fails
/// (adb's server restarting, say) changes nothing: devices are not declared gone
/// because adb could not be asked. Stops when the receiver is dropped. Must be
/// called within a Tokio runtime.
pub fn watch(adb: Adb, interval: Duration) -> mpsc::Receiver<DeviceEvent> {
    let (events, receiver) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut usable = BTreeSet::new();
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = events.closed() => return,
            }
            let now = match adb.devices().await {
                Ok(devices) => {
                    devices.into_iter().filter(|d| d.state == DeviceState::Device).map(|d| d.serial).collect()
                }
                Err(e) => {
                    tracing::warn!("cannot list adb devices: {e}");
                    continue;
                }
            };
            for event in changes(&usable, &now) {
                if events.send(event).await.is_err() {
                    return;
                }
            }
            usable = now;
        }
    });
    receiver
}

/// What happened between two sets of usable serials: unplugs first (a job on a
/// device that left must be failed before anything else), each set in serial order.
fn changes(before: &BTreeSet<String>, now: &BTreeSet<String>) -> Vec<DeviceEvent> {
    let gone = before.difference(now).map(|s| DeviceEvent::Unplugged(s.clone()));
    let came = now.difference(before).map(|s| DeviceEvent::Plugged(s.clone()));
    gone.chain(came).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn applying_the_changes_gives_the_new_set(
            before in proptest::collection::btree_set("[a-d]", 0..4),
            now in proptest::collection::btree_set("[a-d]", 0..4),
        ) {
            let events = changes(&before, &now);
            let mut state = before.clone();
            for event in &events {
                match event {
                    DeviceEvent::Plugged(s) => prop_assert!(state.insert(s.clone())),
                    DeviceEvent::Unplugged(s) => prop_assert!(state.remove(s)),
                }
            }
            prop_assert_eq!(&state, &now);
            prop_assert_eq!(events.len(), before.symmetric_difference(&now).count());
        }
    }
}
