//! `GET /scrape` (BEP 48): counts for the `info_hash` values given. A full scrape (no
//! `info_hash`) is refused: it would list every info-hash to anyone (issue 15 item 8), and
//! BEP 48 lets a tracker answer per-hash scrapes only.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use swarm_engine::metainfo::InfoHash;

use super::query::{to_fixed20, Pairs, QueryError};
use super::{bencode, bencoded, check_key};
use crate::metrics::FailureKind;
use crate::state::AppState;

/// The failure reason answered to a scrape without `info_hash`.
pub const FULL_SCRAPE_REFUSED: &str = "full scrape is not allowed: give info_hash";

/// Most `info_hash` values in one scrape.
pub const MAX_SCRAPE_HASHES: usize = 256;

/// The info-hashes of a raw scrape query, sorted and without duplicates.
pub fn parse(query: &str) -> Result<Vec<InfoHash>, QueryError> {
    let pairs = Pairs::parse(query)?;
    let mut hashes = Vec::new();
    for value in pairs.all("info_hash") {
        if hashes.len() == MAX_SCRAPE_HASHES {
            return Err(QueryError::TooManyHashes {
                max: MAX_SCRAPE_HASHES,
            });
        }
        hashes.push(InfoHash(to_fixed20("info_hash", value)?));
    }
    hashes.sort_unstable();
    hashes.dedup();
    Ok(hashes)
}

/// `/scrape`.
pub(crate) async fn plain(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Response {
    bencoded(handle(&state, None, query.as_deref().unwrap_or("")))
}

/// `/<key>/scrape`.
pub(crate) async fn keyed(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    bencoded(handle(&state, Some(&key), query.as_deref().unwrap_or("")))
}

fn handle(state: &AppState, key: Option<&str>, query: &str) -> Vec<u8> {
    if let Err(err) = check_key(state, key) {
        state.metrics.failure("scrape", FailureKind::Key);
        return bencode::failure(&err.to_string());
    }
    let hashes = match parse(query) {
        Ok(hashes) => hashes,
        Err(err) => {
            state.metrics.failure("scrape", FailureKind::BadRequest);
            return bencode::failure(&err.to_string());
        }
    };
    if hashes.is_empty() {
        state.metrics.failure("scrape", FailureKind::BadRequest);
        return bencode::failure(FULL_SCRAPE_REFUSED);
    }
    let now_ms = state.now_ms();
    let entries = state.core().core.scrape(now_ms, &hashes);
    state.metrics.scrape();
    bencode::scrape(&entries)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_sorted_unique_hashes() {
        let b = "%bb".repeat(20);
        let a = "a".repeat(20);
        let hashes = parse(&format!("info_hash={b}&info_hash={a}&info_hash={b}")).unwrap();
        assert_eq!(hashes, vec![InfoHash([b'a'; 20]), InfoHash([0xbb; 20])]);
        assert!(parse("").unwrap().is_empty());
        assert!(parse("info_hash=short").is_err());
        let many = vec![format!("info_hash={a}"); MAX_SCRAPE_HASHES + 1].join("&");
        assert_eq!(
            parse(&many),
            Err(QueryError::TooManyHashes {
                max: MAX_SCRAPE_HASHES
            })
        );
    }
}
