//! The HTTP tracker client (BEP 3, compact peers of BEP 23): one GET per announce over a
//! plain tokio socket, with a deadline, and a parser for the bencoded answer.
//!
//! Retries and backoff are the engine's: a failure goes back as `AnnounceFailed` and the
//! node announces again later.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_bencode::value::Value;
use swarm_engine::node::addr::PeerAddr;
use swarm_engine::node::io::{AnnounceEvent, AnnounceRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest tracker answer read.
const MAX_RESPONSE_BYTES: u64 = 4 << 20;

/// What identifies us to the tracker.
#[derive(Debug, Clone)]
pub struct AnnounceParams {
    /// The tracker's announce URL (`http://host:port/path`).
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
    /// The URL is not `http://host[:port]/path`.
    #[error("unsupported tracker URL {0:?} (only http:// is supported)")]
    BadUrl(String),
    /// Connecting, sending or reading failed.
    #[error("tracker unreachable: {0}")]
    Io(#[from] std::io::Error),
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

/// Announces once.
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

/// `(host, port, path_and_query)` of an `http://` URL.
fn split_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = after
            .strip_prefix(':')
            .map_or(Some(80), |p| p.parse().ok())?;
        (host.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), port.parse().ok()?),
            None => (authority.to_string(), 80),
        }
    };
    (!host.is_empty()).then(|| (host, port, path.to_string()))
}

/// A minimal HTTP/1.1 GET: `Connection: close`, body by length, chunks or end of stream.
async fn http_get(url: &str) -> Result<Vec<u8>, AnnounceError> {
    let (host, port, path) = split_url(url).ok_or_else(|| AnnounceError::BadUrl(url.into()))?;
    let mut stream = TcpStream::connect((host.as_str(), port)).await?;
    let host_header = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: swarm/{}\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    (&mut stream)
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut raw)
        .await?;
    let bad = |m: &str| AnnounceError::BadResponse(m.to_string());
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
    let body = &raw[head_end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            } else if name == "content-length" {
                length = value.parse::<usize>().ok();
            }
        }
    }
    let body = if chunked {
        dechunk(body).ok_or_else(|| bad("bad chunked body"))?
    } else if let Some(length) = length {
        body.get(..length)
            .ok_or_else(|| bad("body shorter than its length"))?
            .to_vec()
    } else {
        body.to_vec()
    };
    if code != "200" {
        // Trackers may answer a refusal with an error status and a bencoded reason.
        if let Ok(AnnounceResponseOrFailure::Failure(reason)) = parse_dict(&body) {
            return Err(AnnounceError::Failure(reason));
        }
        return Err(AnnounceError::BadResponse(format!(
            "HTTP status {status:?}"
        )));
    }
    Ok(body)
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn encodes_binary_and_parses_both_peer_forms() {
        assert_eq!(percent_encode(&[0x12, b'a', 0xff, b'~']), "%12a%FF~");
        let compact = b"d8:intervali60e5:peers6:\x7f\x00\x00\x01\x1a\xe1e";
        let r = parse_response(compact).unwrap();
        assert_eq!(r.peers, vec![PeerAddr::v4([127, 0, 0, 1], 6881)]);
        assert_eq!(r.interval, Duration::from_secs(60));
        let dicts =
            b"d8:intervali5e5:peersld2:ip8:10.0.0.27:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti80eeee";
        let r = parse_response(dicts).unwrap();
        assert_eq!(r.peers, vec![PeerAddr::v4([10, 0, 0, 2], 80)]);
        let failure = b"d14:failure reason7:unknowne";
        assert!(
            matches!(parse_response(failure), Err(AnnounceError::Failure(r)) if r == "unknown")
        );
        assert_eq!(
            split_url("http://127.0.0.1:8080/announce?k=1"),
            Some(("127.0.0.1".into(), 8080, "/announce?k=1".into()))
        );
        assert_eq!(dechunk(b"3\r\nabc\r\n0\r\n\r\n"), Some(b"abc".to_vec()));
    }
}
