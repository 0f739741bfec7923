//! The HTTP tracker client (BEP 3, compact peers of BEP 23): one GET per announce through
//! reqwest (http and https through rustls, trusting the system's roots and the webpki
//! roots), with a deadline and a bounded body, and a parser for the bencoded answer.
//!
//! Retries and backoff are the engine's: a failure goes back as `AnnounceFailed` and the
//! node announces again later.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

use serde_bencode::value::Value;
use swarm_engine::node::addr::PeerAddr;
use swarm_engine::node::io::{AnnounceEvent, AnnounceRequest};

/// Largest tracker answer read; a longer one is an error.
pub const MAX_RESPONSE_BYTES: usize = 4 << 20;

/// Redirects followed before an announce fails.
const MAX_REDIRECTS: usize = 3;

/// What identifies us to the tracker.
#[derive(Debug, Clone)]
pub struct AnnounceParams {
    /// The tracker's announce URL (`http://host:port/path` or `https://...`).
    pub url: String,
    /// The torrent.
    pub info_hash: [u8; 20],
    /// Our peer id.
    pub peer_id: [u8; 20],
    /// The port we listen on.
    pub port: u16,
    /// How long one announce may take.
    pub timeout: Duration,
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceResponse {
    /// Peers the tracker gave.
    pub peers: Vec<PeerAddr>,
    /// Seconds until the next regular announce.
    pub interval: Duration,
}

/// Why an announce failed.
#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    /// The URL is not `http://` or `https://` with a host.
    #[error("unsupported tracker URL {0:?} (http:// and https:// are supported)")]
    BadUrl(String),
    /// The HTTP client could not be built (TLS set-up).
    #[error("HTTP client unavailable: {0}")]
    Client(String),
    /// Connecting, TLS, sending or reading failed.
    #[error("tracker unreachable: {0}")]
    Http(#[from] reqwest::Error),
    /// The answer's body is longer than we read.
    #[error("tracker answer longer than {max_bytes} bytes")]
    TooLarge {
        /// [`MAX_RESPONSE_BYTES`].
        max_bytes: usize,
    },
    /// No answer within the deadline.
    #[error("tracker did not answer within {0:?}")]
    Timeout(Duration),
    /// The answer is not HTTP 200 with a bencoded dictionary.
    #[error("bad tracker answer: {0}")]
    BadResponse(String),
    /// The tracker refused (`failure reason`).
    #[error("tracker refused: {0}")]
    Failure(String),
}

/// Percent-encodes bytes for a query string (RFC 3986 unreserved characters stay).
pub fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn event_name(event: AnnounceEvent) -> Option<&'static str> {
    match event {
        AnnounceEvent::Started => Some("started"),
        AnnounceEvent::Completed => Some("completed"),
        AnnounceEvent::Stopped => Some("stopped"),
        AnnounceEvent::Paused => Some("paused"),
        AnnounceEvent::Periodic => None,
    }
}

/// The full announce URL for `request`.
pub fn announce_url(params: &AnnounceParams, request: &AnnounceRequest) -> String {
    let sep = if params.url.contains('?') { '&' } else { '?' };
    let mut url = format!(
        "{}{sep}info_hash={}&peer_id={}&port={}&uploaded={}&downloaded={}&left={}&compact=1&numwant={}",
        params.url,
        percent_encode(&params.info_hash),
        percent_encode(&params.peer_id),
        params.port,
        request.uploaded_bytes,
        request.downloaded_bytes,
        request.left_bytes,
        request.numwant,
    );
    if let Some(event) = event_name(request.event) {
        url.push_str("&event=");
        url.push_str(event);
    }
    url
}

/// Announces once: one GET through the shared HTTP client, the whole exchange (connect,
/// TLS, headers, body) within `params.timeout`.
pub async fn announce(
    params: &AnnounceParams,
    request: &AnnounceRequest,
) -> Result<AnnounceResponse, AnnounceError> {
    let url = announce_url(params, request);
    let body = tokio::time::timeout(params.timeout, http_get(&url))
        .await
        .map_err(|_| AnnounceError::Timeout(params.timeout))??;
    parse_response(&body)
}

/// The one HTTP client (rustls; the system's and the webpki roots), built on first use. It
/// keeps no idle connections: announces are minutes apart, and a pooled connection would
/// belong to the tokio runtime that opened it.
fn client() -> Result<&'static reqwest::Client, AnnounceError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .user_agent(concat!("swarm/", env!("CARGO_PKG_VERSION")))
                .pool_max_idle_per_host(0)
                .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| AnnounceError::Client(e.clone()))
}

/// GETs `url` and returns its body (at most [`MAX_RESPONSE_BYTES`]) when the status is 200.
async fn http_get(url: &str) -> Result<Vec<u8>, AnnounceError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| AnnounceError::BadUrl(url.into()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(AnnounceError::BadUrl(url.into()));
    }
    let mut response = client()?.get(parsed).send().await?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(AnnounceError::TooLarge {
                max_bytes: MAX_RESPONSE_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    if status != reqwest::StatusCode::OK {
        // Trackers may answer a refusal with an error status and a bencoded reason.
        if let Ok(AnnounceResponseOrFailure::Failure(reason)) = parse_dict(&body) {
            return Err(AnnounceError::Failure(reason));
        }
        return Err(AnnounceError::BadResponse(format!("HTTP status {status}")));
    }
    Ok(body)
}

enum AnnounceResponseOrFailure {
    Ok(AnnounceResponse),
    Failure(String),
}

/// Parses a bencoded announce answer: `failure reason`, `interval`, and `peers` compact
/// (6 bytes each) or as a list of dictionaries; `peers6` (18 bytes each) too.
pub fn parse_response(body: &[u8]) -> Result<AnnounceResponse, AnnounceError> {
    match parse_dict(body)? {
        AnnounceResponseOrFailure::Ok(response) => Ok(response),
        AnnounceResponseOrFailure::Failure(reason) => Err(AnnounceError::Failure(reason)),
    }
}

fn parse_dict(body: &[u8]) -> Result<AnnounceResponseOrFailure, AnnounceError> {
    let bad = |m: String| AnnounceError::BadResponse(m);
    let value: Value = serde_bencode::from_bytes(body).map_err(|e| bad(e.to_string()))?;
    let Value::Dict(dict) = value else {
        return Err(bad("not a dictionary".into()));
    };
    let get = |key: &str| dict.get(key.as_bytes());
    if let Some(Value::Bytes(reason)) = get("failure reason") {
        return Ok(AnnounceResponseOrFailure::Failure(
            String::from_utf8_lossy(reason).into_owned(),
        ));
    }
    let interval = match get("interval") {
        Some(Value::Int(s)) if *s > 0 => Duration::from_secs(*s as u64),
        _ => Duration::from_secs(1800),
    };
    let mut peers = Vec::new();
    match get("peers") {
        Some(Value::Bytes(compact)) => {
            for p in compact.chunks_exact(6) {
                let port = u16::from_be_bytes([p[4], p[5]]);
                peers.push(PeerAddr::v4([p[0], p[1], p[2], p[3]], port));
            }
        }
        Some(Value::List(list)) => peers.extend(list.iter().filter_map(dict_peer)),
        _ => {}
    }
    if let Some(Value::Bytes(compact)) = get("peers6") {
        for p in compact.chunks_exact(18) {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&p[..16]);
            peers.push(PeerAddr {
                ip,
                port: u16::from_be_bytes([p[16], p[17]]),
            });
        }
    }
    peers.retain(|p| p.port != 0);
    Ok(AnnounceResponseOrFailure::Ok(AnnounceResponse {
        peers,
        interval,
    }))
}

fn dict_peer(value: &Value) -> Option<PeerAddr> {
    let Value::Dict(d) = value else { return None };
    let d: &HashMap<Vec<u8>, Value> = d;
    let Some(Value::Bytes(ip)) = d.get(b"ip".as_slice()) else {
        return None;
    };
    let Some(Value::Int(port)) = d.get(b"port".as_slice()) else {
        return None;
    };
    let port = u16::try_from(*port).ok()?;
    let ip: std::net::IpAddr = std::str::from_utf8(ip).ok()?.parse().ok()?;
    Some(crate::addr::to_peer_addr(std::net::SocketAddr::new(
        ip, port,
    )))
}

#[cfg(test)]
#[path = "announce_tests.rs"]
mod tests;
