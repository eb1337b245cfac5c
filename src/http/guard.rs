//! `Host` and `Origin` validation against allow-lists (DNS-rebinding
//! protection). Runs before authentication, so a rebinding page gets 403
//! whatever it sends. rmcp's own check is configured with the same lists.

use http::HeaderMap;

/// The allow-lists.
#[derive(Clone, Debug)]
pub struct HostGuard {
    /// `host` or `host:port` entries; `*` allows any Host.
    pub hosts: Vec<String>,
    /// `scheme://host[:port|:*]` entries; `null` matches `Origin: null`.
    pub origins: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400: no usable Host.
    BadHost,
    /// 403: Host not in the list.
    Host,
    /// 403: Origin present and not in the list.
    Origin,
}

fn split_authority(a: &str) -> Option<(String, Option<u16>)> {
    let auth = http::uri::Authority::try_from(a.trim()).ok()?;
    let host = auth.host().trim_matches(|c| c == '[' || c == ']').to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    Some((host, auth.port_u16()))
}

/// An allow-list entry: `host`, `host:port`, `[v6]:port` or a bare IPv6.
fn split_allowed(a: &str) -> Option<(String, Option<u16>)> {
    let a = a.trim();
    split_authority(a).or_else(|| {
        if a.contains(':') && !a.starts_with('[') {
            split_authority(&format!("[{a}]"))
        } else {
            None
        }
    })
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl HostGuard {
    /// The default lists for a server bound to `bind`, reachable at
    /// `public_host` (the host of `--public-url`), if any.
    pub fn defaults(bind: std::net::SocketAddr, public_host: Option<&str>) -> HostGuard {
        let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        if !bind.ip().is_unspecified() && !bind.ip().is_loopback() {
            hosts.push(bind.ip().to_string());
        }
        if let Some(h) = public_host {
            hosts.push(h.to_ascii_lowercase());
        }
        hosts.dedup();
        let origins = Self::origins_for(&hosts);
        HostGuard { hosts, origins }
    }

    /// Browser origins matching a list of hosts (any port, http or https).
    pub fn origins_for(hosts: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for h in hosts {
            if h == "*" {
                continue;
            }
            let (host, _) = split_allowed(h).unwrap_or((h.clone(), None));
            let host = if host.contains(':') { format!("[{host}]") } else { host };
            out.push(format!("http://{host}:*"));
            out.push(format!("https://{host}:*"));
        }
        out
    }

    pub fn any_host(&self) -> bool {
        self.hosts.iter().any(|h| h.trim() == "*")
    }

    /// The Host the request names, checked against the list.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(split_authority)
            .ok_or(Refusal::BadHost)?;
        if !self.any_host() && !self.host_allowed(&host) {
            return Err(Refusal::Host);
        }
        if let Some(origin) = headers.get(http::header::ORIGIN) {
            let origin = origin.to_str().map_err(|_| Refusal::Origin)?;
            if !self.origin_allowed(origin) {
                return Err(Refusal::Origin);
            }
        }
        Ok(())
    }

    fn host_allowed(&self, (host, port): &(String, Option<u16>)) -> bool {
        self.hosts.iter().filter_map(|a| split_allowed(a)).any(|(ah, ap)| {
            ah == *host
                && match ap {
                    Some(p) => *port == Some(p),
                    None => true,
                }
        })
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim();
        if origin.eq_ignore_ascii_case("null") {
            return self.origins.iter().any(|o| o.trim().eq_ignore_ascii_case("null"));
        }
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        let scheme = scheme.to_ascii_lowercase();
        if rest.contains('/') {
            return false;
        }
        let Some((host, port)) = split_authority(rest) else {
            return false;
        };
        let port = port.or_else(|| default_port(&scheme));
        self.origins.iter().any(|allowed| {
            let allowed = allowed.trim();
            let Some((a_scheme, a_rest)) = allowed.split_once("://") else {
                return false;
            };
            if !a_scheme.eq_ignore_ascii_case(&scheme) {
                return false;
            }
            let (a_rest, any_port) = match a_rest.strip_suffix(":*") {
                Some(r) => (r, true),
                None => (a_rest, false),
            };
            let Some((a_host, a_port)) = split_authority(a_rest) else {
                return false;
            };
            a_host == host && (any_port || a_port.or_else(|| default_port(a_scheme)) == port)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: Option<&str>, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = host {
            h.insert(http::header::HOST, v.parse().unwrap());
        }
        if let Some(v) = origin {
            h.insert(http::header::ORIGIN, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn loopback_defaults() {
        let g = HostGuard::defaults("127.0.0.1:8080".parse().unwrap(), None);
        assert_eq!(g.check(&headers(Some("127.0.0.1:8080"), None)), Ok(()));
        assert_eq!(
            g.check(&headers(Some("localhost:9"), Some("http://localhost:3000"))),
            Ok(())
        );
        assert_eq!(g.check(&headers(Some("[::1]:8080"), Some("http://[::1]:8080"))), Ok(()));
        assert_eq!(
            g.check(&headers(Some("evil.example.com"), Some("http://evil.example.com"))),
            Err(Refusal::Host)
        );
        assert_eq!(
            g.check(&headers(Some("127.0.0.1:8080"), Some("http://evil.example.com"))),
            Err(Refusal::Origin)
        );
        assert_eq!(
            g.check(&headers(Some("127.0.0.1:8080"), Some("null"))),
            Err(Refusal::Origin)
        );
        assert_eq!(g.check(&headers(None, None)), Err(Refusal::BadHost));
    }

    #[test]
    fn configured_lists() {
        let g = HostGuard {
            hosts: vec!["mcp.example.com".into(), "10.0.0.5:8080".into()],
            origins: vec!["https://app.example.com".into(), "null".into()],
        };
        assert_eq!(g.check(&headers(Some("MCP.example.com"), None)), Ok(()));
        assert_eq!(g.check(&headers(Some("10.0.0.5:8080"), None)), Ok(()));
        assert_eq!(g.check(&headers(Some("10.0.0.5:9090"), None)), Err(Refusal::Host));
        assert_eq!(
            g.check(&headers(Some("mcp.example.com"), Some("https://app.example.com"))),
            Ok(())
        );
        assert_eq!(
            g.check(&headers(Some("mcp.example.com"), Some("https://app.example.com:443"))),
            Ok(())
        );
        assert_eq!(
            g.check(&headers(Some("mcp.example.com"), Some("https://app.example.com:8443"))),
            Err(Refusal::Origin)
        );
        assert_eq!(
            g.check(&headers(Some("mcp.example.com"), Some("http://app.example.com"))),
            Err(Refusal::Origin)
        );
        assert_eq!(g.check(&headers(Some("mcp.example.com"), Some("null"))), Ok(()));
        let any = HostGuard {
            hosts: vec!["*".into()],
            origins: vec![],
        };
        assert_eq!(any.check(&headers(Some("whatever:1"), None)), Ok(()));
        assert_eq!(
            any.check(&headers(Some("whatever:1"), Some("http://x"))),
            Err(Refusal::Origin)
        );
    }
}
