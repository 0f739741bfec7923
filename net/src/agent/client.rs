//! The manager's HTTP client for agents and `swarm publish` (reqwest with rustls): JSON
//! calls with the fleet token, and the agent's live channel as a stream of [`Desired`]
//! states parsed from server-sent events.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use swarm_service::token::Token;
use swarm_service::wire::Desired;

/// How long one request may take (the channel has an idle limit instead).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A channel silent this long is taken as dead (the manager sends a comment every 5 s).
pub const CHANNEL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest server-sent event accepted.
pub const MAX_EVENT_BYTES: usize = 8 << 20;
/// Largest error body kept for a message.
const MAX_ERROR_BODY_CHARS: usize = 300;

/// Why a call to the manager failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting or transferring failed.
    #[error("{what}: {source}")]
    Http {
        /// The call.
        what: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The manager refused the token.
    #[error("{what}: the manager refused our token (401): {body}")]
    Unauthorized {
        /// The call.
        what: String,
        /// Its answer.
        body: String,
    },
    /// Any other error status.
    #[error("{what}: HTTP {status}: {body}")]
    Status {
        /// The call.
        what: String,
        /// The status code.
        status: u16,
        /// Its answer.
        body: String,
    },
    /// The answer was not what the protocol says.
    #[error("{what}: {reason}")]
    Protocol {
        /// The call.
        what: String,
        /// What is wrong.
        reason: String,
    },
}

/// A client for one manager.
#[derive(Debug, Clone)]
pub struct ManagerClient {
    http: reqwest::Client,
    base: String,
    token: Option<Token>,
}

impl ManagerClient {
    /// A client for the manager at `base` (`http://host:port`).
    pub fn new(base: &str, token: Option<Token>) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|source| ClientError::Http {
                what: "building the HTTP client".into(),
                source,
            })?;
        Ok(ManagerClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
        })
    }

    /// The manager's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token.expose()),
            None => request,
        }
    }

    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        let http = |source| ClientError::Http {
            what: what.to_string(),
            source,
        };
        let response = request.send().await.map_err(http)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(MAX_ERROR_BODY_CHARS)
            .collect();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(ClientError::Unauthorized {
                what: what.to_string(),
                body,
            });
        }
        Err(ClientError::Status {
            what: what.to_string(),
            status: status.as_u16(),
            body,
        })
    }

    /// `GET path`, JSON answer.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let what = format!("GET {}{path}", self.base);
        let request = self
            .request(reqwest::Method::GET, path)
            .timeout(REQUEST_TIMEOUT);
        let response = self.send(&what, request).await?;
        response
            .json()
            .await
            .map_err(|source| ClientError::Http { what, source })
    }

    /// `POST path` with a JSON body; JSON answer (`()` for none).
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let what = format!("POST {}{path}", self.base);
        let request = self
            .request(reqwest::Method::POST, path)
            .timeout(REQUEST_TIMEOUT)
            .json(body);
        let response = self.send(&what, request).await?;
        let bytes = response.bytes().await.map_err(|source| ClientError::Http {
            what: what.clone(),
            source,
        })?;
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(bytes).map_err(|e| ClientError::Protocol {
            what,
            reason: e.to_string(),
        })
    }

    /// `GET path`, raw bytes.
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let what = format!("GET {}{path}", self.base);
        let request = self
            .request(reqwest::Method::GET, path)
            .timeout(REQUEST_TIMEOUT);
        let response = self.send(&what, request).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|source| ClientError::Http { what, source })?;
        Ok(bytes.to_vec())
    }

    /// Opens the agent channel of `host`.
    pub async fn channel(&self, host: &str) -> Result<Channel, ClientError> {
        let path = format!("/api/fleet/agents/{host}/channel");
        let what = format!("GET {}{path}", self.base);
        let request = self
            .request(reqwest::Method::GET, &path)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        let response = self.send(&what, request).await?;
        Ok(Channel {
            response,
            buffer: Vec::new(),
            what,
        })
    }
}

/// An open agent channel.
#[derive(Debug)]
pub struct Channel {
    response: reqwest::Response,
    buffer: Vec<u8>,
    what: String,
}

impl Channel {
    /// The next desired state; `Ok(None)` when the manager closed the channel.
    pub async fn next(&mut self) -> Result<Option<Desired>, ClientError> {
        loop {
            if let Some(event) = take_event(&mut self.buffer) {
                if let Some(data) = event {
                    let desired =
                        serde_json::from_str(&data).map_err(|e| ClientError::Protocol {
                            what: self.what.clone(),
                            reason: format!("desired state: {e}"),
                        })?;
                    return Ok(Some(desired));
                }
                continue;
            }
            if self.buffer.len() > MAX_EVENT_BYTES {
                return Err(ClientError::Protocol {
                    what: self.what.clone(),
                    reason: format!("an event is larger than {MAX_EVENT_BYTES} bytes"),
                });
            }
            let chunk = tokio::time::timeout(CHANNEL_IDLE_TIMEOUT, self.response.chunk()).await;
            let chunk = chunk.map_err(|_| ClientError::Protocol {
                what: self.what.clone(),
                reason: format!("silent for {} s", CHANNEL_IDLE_TIMEOUT.as_secs()),
            })?;
            match chunk.map_err(|source| ClientError::Http {
                what: self.what.clone(),
                source,
            })? {
                Some(bytes) => self.buffer.extend_from_slice(&bytes),
                None => return Ok(None),
            }
        }
    }
}

/// Takes the first complete server-sent event off the front of `buffer`: `Some` with its
/// `data:` lines joined by newlines (`None` inside for an event without data, a comment),
/// or `None` while no event is complete.
pub fn take_event(buffer: &mut Vec<u8>) -> Option<Option<String>> {
    let end = find_event_end(buffer)?;
    let event: Vec<u8> = buffer.drain(..end).collect();
    Some(event_data(&event))
}

/// Where the first complete event (ended by a blank line) ends, past its terminator.
fn find_event_end(buffer: &[u8]) -> Option<usize> {
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    let crlf = buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The `data:` lines of one event joined by newlines; `None` for comments only.
fn event_data(event: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(event);
    let lines: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_on_blank_lines_and_comments_carry_no_data() {
        let stream = b":keepalive\n\nevent: desired\ndata: {\"a\":\ndata: 1}\n\nrest";
        let first = find_event_end(stream).unwrap_or(0);
        assert_eq!(event_data(&stream[..first]), None);
        let second = first + find_event_end(&stream[first..]).unwrap_or(0);
        assert_eq!(
            event_data(&stream[first..second]).as_deref(),
            Some("{\"a\":\n1}")
        );
        assert_eq!(find_event_end(&stream[second..]), None);
    }
}
