//! A device's HTTP proxy (`deviceProxy`): Android's global `http_proxy` setting, which the
//! system and apps that use its proxy follow; `:0` clears it.

use super::command::Adb;

/// Whether `proxy` is `HOST:PORT` as the model allows it (letters, digits, dots and dashes;
/// a port of 1 to 65535): nothing else reaches the device's shell.
pub fn is_proxy(proxy: &str) -> bool {
    let Some((host, port)) = proxy.rsplit_once(':') else { return false };
    let host_ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    host_ok && port.parse::<u16>().is_ok_and(|p| p > 0)
}

impl Adb {
    /// Points the device's HTTP proxy at `proxy` (`HOST:PORT`), or clears it with `None`.
    pub async fn set_http_proxy(&self, serial: &str, proxy: Option<&str>) -> Result<(), String> {
        let value = match proxy {
            Some(p) if is_proxy(p) => p,
            Some(p) => return Err(format!("{p:?} is not HOST:PORT")),
            None => ":0",
        };
        self.shell(serial, &["settings", "put", "global", "http_proxy", value])
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_host_and_a_port_pass() {
        assert!(is_proxy("10.0.0.5:8888") && is_proxy("proxy.example-corp.com:3128"));
        for bad in ["", ":8080", "host", "host:0", "host:70000", "a;reboot:80", "a b:80", "$(id):80"] {
            assert!(!is_proxy(bad), "{bad}");
        }
    }
}
