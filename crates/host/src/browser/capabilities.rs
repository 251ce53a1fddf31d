//! A W3C "New Session" request matched against the browsers a host offers, and the
//! request its driver gets instead: the client's capabilities with this host's binary,
//! window and sandbox settings added, and the farm-level ones (`browserVersion`,
//! `platformName`) answered here rather than by the driver.

use super::{BrowserKind, BrowserSpec};
use serde_json::{json, Map, Value};

/// The display every session's browser window fills (and its video shows).
pub const SCREEN: (u32, u32) = (1366, 768);

/// A new-session request this host can serve: which browser, and the body for its driver.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    pub spec: BrowserSpec,
    pub driver_request: Value,
}

/// Why no offered browser fits; WebDriver's "session not created" (or "invalid argument"
/// for a body that is not a capabilities object).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotOffered(String),
}

/// The capability sets the client will accept, in its order of preference: `alwaysMatch`
/// merged with each `firstMatch` entry (W3C "Processing capabilities"). The JSON-wire
/// `desiredCapabilities` of old clients is read as one `alwaysMatch`.
fn candidates(request: &Value) -> Result<Vec<Map<String, Value>>, Refusal> {
    let invalid = |m: &str| Refusal::InvalidArgument(m.to_string());
    let object = request.as_object().ok_or_else(|| invalid("the new session request is not a JSON object"))?;
    let (always, first) = match object.get("capabilities") {
        Some(Value::Object(caps)) => {
            let always = match caps.get("alwaysMatch") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(m)) => m.clone(),
                Some(_) => return Err(invalid("capabilities.alwaysMatch must be an object")),
            };
            let first = match caps.get("firstMatch") {
                None | Some(Value::Null) => vec![Map::new()],
                Some(Value::Array(list)) if !list.is_empty() => list
                    .iter()
                    .map(|v| {
                        v.as_object().cloned().ok_or_else(|| invalid("capabilities.firstMatch holds a non-object"))
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(invalid("capabilities.firstMatch must be a non-empty array")),
            };
            (always, first)
        }
        Some(_) => return Err(invalid("capabilities must be an object")),
        None => match object.get("desiredCapabilities") {
            Some(Value::Object(m)) => (m.clone(), vec![Map::new()]),
            _ => return Err(invalid("the new session request has no capabilities")),
        },
    };
    first
        .into_iter()
        .map(|entry| {
            let mut merged = always.clone();
            for (key, value) in entry {
                if merged.contains_key(&key) {
                    return Err(invalid(&format!("capability {key} is in both alwaysMatch and firstMatch")));
                }
                merged.insert(key, value);
            }
            Ok(merged)
        })
        .collect()
}

fn text<'a>(caps: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    caps.get(key).and_then(Value::as_str)
}

/// Whether an offered browser answers one capability set: its name, its version
/// (`latest`, or a prefix of the installed version such as `156` or `156.0`) and the
/// platform (AWS's `windows`, or `linux`/`any`: every session runs on this host's OS).
fn fits(caps: &Map<String, Value>, spec: &BrowserSpec) -> Result<(), String> {
    if let Some(name) = text(caps, "browserName") {
        if BrowserKind::from_capability(name) != Some(spec.kind) {
            return Err(format!("browserName '{name}'"));
        }
    }
    if let Some(version) = text(caps, "browserVersion") {
        let installed = spec.version.as_deref().unwrap_or_default();
        let prefix_of_installed =
            installed == version || installed.strip_prefix(version).is_some_and(|rest| rest.starts_with('.'));
        if !(version.eq_ignore_ascii_case("latest") || prefix_of_installed) {
            return Err(format!("browserVersion '{version}' of {}", spec.kind.name()));
        }
    }
    if let Some(platform) = text(caps, "platformName") {
        if !["any", "linux", "windows"].iter().any(|p| p.eq_ignore_ascii_case(platform)) {
            return Err(format!("platformName '{platform}'"));
        }
    }
    Ok(())
}

/// The first capability set an offered browser fits, with the driver's request for it.
pub fn match_request(request: &Value, offered: &[BrowserSpec]) -> Result<Matched, Refusal> {
    if offered.is_empty() {
        return Err(Refusal::NotOffered("this farm offers no desktop browsers".to_string()));
    }
    let mut misses = Vec::new();
    for caps in candidates(request)? {
        for spec in offered {
            match fits(&caps, spec) {
                Ok(()) => return Ok(Matched { spec: spec.clone(), driver_request: driver_request(caps, spec) }),
                Err(miss) => misses.push(miss),
            }
        }
    }
    misses.dedup();
    let offers: Vec<String> = offered
        .iter()
        .map(|s| format!("{} {}", s.kind.name(), s.version.as_deref().unwrap_or("(version unknown)")))
        .collect();
    Err(Refusal::NotOffered(format!(
        "no browser here matches {}; this farm offers: {} (browserVersion 'latest' or a prefix of these; \
         platformName linux, windows or any)",
        misses.first().map_or("the capabilities", String::as_str),
        offers.join(", ")
    )))
}

/// The client's capabilities as the driver must see them: the farm-level ones removed,
/// `browserName` its driver's own, and the browser binary, window and sandbox settings
/// this host needs added to the vendor options (the client's own options kept).
fn driver_request(mut caps: Map<String, Value>, spec: &BrowserSpec) -> Value {
    caps.remove("browserVersion");
    caps.remove("platformName");
    caps.insert("browserName".into(), json!(spec.kind.driver_name()));
    let (width, height) = SCREEN;
    match spec.kind {
        BrowserKind::Chrome => {
            let options = vendor_options(&mut caps, "goog:chromeOptions");
            options.entry("binary").or_insert_with(|| json!(spec.binary));
            let mut extra = vec![
                "--window-position=0,0".to_string(),
                format!("--window-size={width},{height}"),
                "--disable-dev-shm-usage".to_string(),
                "--no-first-run".to_string(),
                "--no-default-browser-check".to_string(),
                // Its crash handler leaves the process group and would outlive the session.
                "--disable-crash-reporter".to_string(),
                "--disable-breakpad".to_string(),
            ];
            // Chromium refuses to start as root without it (CI and containers run as root).
            if rustix::process::geteuid().is_root() {
                extra.push("--no-sandbox".to_string());
            }
            append_args(options, extra);
        }
        BrowserKind::Firefox => {
            let options = vendor_options(&mut caps, "moz:firefoxOptions");
            options.entry("binary").or_insert_with(|| json!(spec.binary));
            append_args(options, vec![format!("--width={width}"), format!("--height={height}")]);
        }
    }
    json!({ "capabilities": { "alwaysMatch": caps, "firstMatch": [{}] } })
}

fn vendor_options<'a>(caps: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = caps.entry(key).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut().expect("made an object just above")
}

/// Adds `extra` arguments the client did not already give (by the part before `=`).
fn append_args(options: &mut Map<String, Value>, extra: Vec<String>) {
    let args = options.entry("args").or_insert_with(|| json!([]));
    if !args.is_array() {
        *args = json!([]);
    }
    let list = args.as_array_mut().expect("made an array just above");
    for arg in extra {
        let key = arg.split('=').next().unwrap_or(&arg).to_string();
        let given = list.iter().any(|a| a.as_str().is_some_and(|a| a.split('=').next() == Some(key.as_str())));
        if !given {
            list.push(json!(arg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn chrome() -> BrowserSpec {
        BrowserSpec {
            kind: BrowserKind::Chrome,
            driver: PathBuf::from("/usr/bin/chromedriver"),
            binary: PathBuf::from("/usr/bin/chromium"),
            version: Some("156.0.8078.129".into()),
            max_sessions: 2,
        }
    }

    fn firefox() -> BrowserSpec {
        BrowserSpec {
            kind: BrowserKind::Firefox,
            driver: PathBuf::from("/usr/local/bin/geckodriver"),
            binary: PathBuf::from("/usr/bin/firefox-esr"),
            version: Some("153.8.0esr".into()),
            max_sessions: 2,
        }
    }

    fn request(always: Value) -> Value {
        json!({"capabilities": {"alwaysMatch": always, "firstMatch": [{}]}})
    }

    #[test]
    fn selenium_python_chrome_request_gets_this_hosts_binary_and_window() {
        let req = request(json!({"browserName": "chrome", "pageLoadStrategy": "normal",
            "goog:chromeOptions": {"extensions": [], "args": ["--lang=fr"]}}));
        let matched = match_request(&req, &[firefox(), chrome()]).expect("chrome is offered");
        assert_eq!(matched.spec.kind, BrowserKind::Chrome);
        let caps = &matched.driver_request["capabilities"]["alwaysMatch"];
        assert_eq!(caps["pageLoadStrategy"], "normal");
        let options = &caps["goog:chromeOptions"];
        assert_eq!(options["binary"], "/usr/bin/chromium");
        let args: Vec<&str> = options["args"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert_eq!(args[0], "--lang=fr");
        assert!(args.contains(&"--window-size=1366,768"));
    }

    #[test]
    fn the_clients_own_window_size_and_binary_win() {
        let req = request(json!({"browserName": "chrome",
            "goog:chromeOptions": {"binary": "/opt/chrome", "args": ["--window-size=800,600"]}}));
        let matched = match_request(&req, &[chrome()]).unwrap();
        let options = &matched.driver_request["capabilities"]["alwaysMatch"]["goog:chromeOptions"];
        assert_eq!(options["binary"], "/opt/chrome");
        let sizes =
            options["args"].as_array().unwrap().iter().filter(|a| a.as_str().unwrap().starts_with("--window-size"));
        assert_eq!(sizes.count(), 1);
    }

    #[test]
    fn first_match_entries_are_tried_in_order() {
        let req = json!({"capabilities": {"alwaysMatch": {"acceptInsecureCerts": true},
            "firstMatch": [{"browserName": "safari"}, {"browserName": "firefox"}]}});
        let matched = match_request(&req, &[chrome(), firefox()]).unwrap();
        assert_eq!(matched.spec.kind, BrowserKind::Firefox);
        let caps = &matched.driver_request["capabilities"]["alwaysMatch"];
        assert_eq!(caps["acceptInsecureCerts"], true);
        assert_eq!(caps["moz:firefoxOptions"]["binary"], "/usr/bin/firefox-esr");
    }

    #[test]
    fn versions_and_platforms_are_answered_by_the_farm() {
        let ok = |always: Value| match_request(&request(always), &[chrome()]);
        assert!(ok(json!({"browserName": "chrome", "browserVersion": "latest", "platformName": "windows"})).is_ok());
        assert!(ok(json!({"browserName": "chrome", "browserVersion": "156"})).is_ok());
        assert!(ok(json!({"browserName": "chrome", "browserVersion": "15"})).is_err());
        let refused = ok(json!({"browserName": "chrome", "platformName": "mac"})).unwrap_err();
        assert!(matches!(refused, Refusal::NotOffered(m) if m.contains("platformName 'mac'")));
        let caps = ok(json!({"browserName": "chrome", "browserVersion": "latest"})).unwrap().driver_request;
        assert!(caps["capabilities"]["alwaysMatch"].get("browserVersion").is_none());
    }

    #[test]
    fn an_unoffered_browser_names_what_the_farm_offers() {
        let refused = match_request(&request(json!({"browserName": "MicrosoftEdge"})), &[chrome(), firefox()]);
        let Err(Refusal::NotOffered(message)) = refused else { panic!("{refused:?}") };
        assert!(message.contains("browserName 'MicrosoftEdge'"), "{message}");
        assert!(message.contains("chrome 156.0.8078.129") && message.contains("firefox 153.8.0esr"), "{message}");
    }

    #[test]
    fn a_body_without_capabilities_is_an_invalid_argument() {
        assert!(matches!(match_request(&json!({}), &[chrome()]), Err(Refusal::InvalidArgument(_))));
        assert!(matches!(match_request(&json!([1]), &[chrome()]), Err(Refusal::InvalidArgument(_))));
        let both =
            json!({"capabilities": {"alwaysMatch": {"browserName": "chrome"}, "firstMatch": [{"browserName": "x"}]}});
        assert!(matches!(match_request(&both, &[chrome()]), Err(Refusal::InvalidArgument(_))));
    }
}
