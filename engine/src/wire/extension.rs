//! The BEP 10 extended handshake: ours, and reading a peer's.
//!
//! swarm speaks no extension message yet, so ours is `{"m": {}, "reqq": N, "v": "swarm/0.1"}`
//! (plus `"p"` when we listen): it tells the peer how many requests we queue and what we are.
//! An origin adds `"swarm_all_haves": 1`: it counts who holds what from `have` messages,
//! so it asks for them even for pieces it has shown (a swarm peer sends no `have` for a
//! piece the remote already announced; in a big swarm half of all haves were such).
//! A peer's handshake is first proven well-formed by the bounded scanner of
//! [`crate::bencode`] (depth limit), then typed by serde_bencode. Unknown keys are ignored;
//! a known key of the wrong type or out of range makes the whole handshake
//! [`Malformed::ExtendedHandshake`].

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::error::{Malformed, WireError};
use super::message::Message;
use crate::bencode;

/// The extended message id of the extended handshake.
pub const EXTENDED_HANDSHAKE_ID: u8 = 0;
/// The client name and version we announce in `v`.
pub const CLIENT_VERSION: &str = "swarm/0.1";

/// An extended handshake, ours or a peer's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtendedHandshake {
    /// `m`: extension name to the id the sender wants it sent with (ids of 0, which mean
    /// "disabled", are left out).
    pub messages: BTreeMap<String, u8>,
    /// `v`: client name and version (lossy UTF-8).
    pub client: Option<String>,
    /// `reqq`: how many outstanding requests the sender queues.
    pub reqq: Option<u32>,
    /// `p`: the sender's listening port.
    pub listen_port: Option<u16>,
    /// `swarm_all_haves`: the sender wants a `have` for every piece we verify, even one it
    /// announced itself (a swarm origin, which reveals pieces gradually and counts holders).
    pub all_haves: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct RawExtendedHandshake {
    #[serde(default)]
    m: BTreeMap<ByteBuf, i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reqq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    swarm_all_haves: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    v: Option<ByteBuf>,
}

fn malformed(reason: impl Into<String>) -> WireError {
    Malformed::ExtendedHandshake {
        reason: reason.into(),
    }
    .into()
}

impl ExtendedHandshake {
    /// Ours: no extension messages, our request queue depth and, if we listen, our port.
    pub fn ours(reqq: u32, listen_port: Option<u16>) -> Self {
        ExtendedHandshake {
            messages: BTreeMap::new(),
            client: Some(CLIENT_VERSION.to_string()),
            reqq: Some(reqq),
            listen_port,
            all_haves: false,
        }
    }

    /// The same, asking for every `have` (see [`ExtendedHandshake::all_haves`]).
    pub fn wanting_all_haves(self) -> Self {
        ExtendedHandshake {
            all_haves: true,
            ..self
        }
    }

    /// The bencoded dictionary (keys in canonical order).
    pub fn to_payload(&self) -> Bytes {
        let raw = RawExtendedHandshake {
            m: self
                .messages
                .iter()
                .map(|(name, id)| (ByteBuf::from(name.as_bytes().to_vec()), i64::from(*id)))
                .collect(),
            p: self.listen_port.map(i64::from),
            reqq: self.reqq.map(i64::from),
            swarm_all_haves: self.all_haves.then_some(1),
            v: self
                .client
                .as_ref()
                .map(|v| ByteBuf::from(v.as_bytes().to_vec())),
        };
        let bytes = serde_bencode::to_bytes(&raw)
            .expect("a struct of integers, byte strings and a byte-string map always encodes");
        Bytes::from(bytes)
    }

    /// The extended message carrying this handshake.
    pub fn to_message(&self) -> Message {
        Message::Extended {
            id: EXTENDED_HANDSHAKE_ID,
            payload: self.to_payload(),
        }
    }

    /// Reads a peer's handshake payload (the bytes after the extended id).
    pub fn from_payload(payload: &[u8]) -> Result<Self, WireError> {
        bencode::validate(payload).map_err(|e| malformed(e.to_string()))?;
        if payload.first() != Some(&b'd') {
            return Err(malformed("not a dictionary"));
        }
        let raw: RawExtendedHandshake =
            serde_bencode::from_bytes(payload).map_err(|e| malformed(e.to_string()))?;
        let mut messages = BTreeMap::new();
        for (name, id) in raw.m {
            let id = u8::try_from(id)
                .map_err(|_| malformed(format!("extension id {id} is not a byte")))?;
            let name = String::from_utf8(name.into_vec())
                .map_err(|_| malformed("extension name is not UTF-8"))?;
            if id != 0 {
                messages.insert(name, id);
            }
        }
        let listen_port = raw
            .p
            .map(|p| u16::try_from(p).map_err(|_| malformed(format!("port {p} out of range"))))
            .transpose()?;
        let reqq = raw
            .reqq
            .map(|q| u32::try_from(q).map_err(|_| malformed(format!("reqq {q} out of range"))))
            .transpose()?;
        let client = raw.v.map(|v| String::from_utf8_lossy(&v).into_owned());
        let all_haves = match raw.swarm_all_haves {
            None | Some(0) => false,
            Some(1) => true,
            Some(other) => return Err(malformed(format!("swarm_all_haves {other} is not 0 or 1"))),
        };
        Ok(ExtendedHandshake {
            messages,
            client,
            reqq,
            listen_port,
            all_haves,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ErrorKind;

    #[test]
    fn ours_is_canonical() {
        let payload = ExtendedHandshake::ours(250, None).to_payload();
        assert_eq!(&payload[..], b"d1:mde4:reqqi250e1:v9:swarm/0.1e");
        let with_port = ExtendedHandshake::ours(250, Some(6881)).to_payload();
        assert_eq!(&with_port[..], b"d1:mde1:pi6881e4:reqqi250e1:v9:swarm/0.1e");
        assert_eq!(
            ExtendedHandshake::from_payload(&with_port).unwrap(),
            ExtendedHandshake::ours(250, Some(6881))
        );
        let origin = ExtendedHandshake::ours(250, None).wanting_all_haves();
        let payload = origin.to_payload();
        assert_eq!(
            &payload[..],
            b"d1:mde4:reqqi250e15:swarm_all_havesi1e1:v9:swarm/0.1e"
        );
        assert_eq!(ExtendedHandshake::from_payload(&payload).unwrap(), origin);
    }

    #[test]
    fn reads_a_typical_peer_handshake_ignoring_unknown_keys() {
        let payload: &[u8] = b"d1:ei0e4:ipv44:\x7f\x00\x00\x0112:complete_agoi1e1:md11:lt_donthavei7e10:share_modei8e11:upload_onlyi3e12:ut_holepunchi4e11:ut_metadatai0e6:ut_pexi1ee13:metadata_sizei4567e1:pi6881e4:reqqi500e11:upload_onlyi0e1:v16:libtorrent 2.0.96:yourip4:\x0a\x00\x00\x01e";
        let handshake = ExtendedHandshake::from_payload(payload).unwrap();
        assert_eq!(handshake.reqq, Some(500));
        assert_eq!(handshake.listen_port, Some(6881));
        assert_eq!(handshake.client.as_deref(), Some("libtorrent 2.0.9"));
        assert_eq!(handshake.messages.get("ut_pex"), Some(&1));
        assert_eq!(
            handshake.messages.get("ut_metadata"),
            None,
            "id 0 means disabled"
        );
        assert_eq!(handshake.messages.len(), 5);
        assert_eq!(
            ExtendedHandshake::from_payload(b"de").unwrap(),
            ExtendedHandshake::default()
        );
    }

    #[test]
    fn malformed_handshakes_are_rejected() {
        let cases: &[&[u8]] = &[
            b"",
            b"le",
            b"i3e",
            b"d1:md",
            b"d1:mdee1",
            b"d1:pi70000ee",
            b"d4:reqqi-1ee",
            b"d1:md2:xxi300eee",
            b"d1:mi3ee",
            b"d1:p3:abce",
            b"d15:swarm_all_havesi2ee",
        ];
        for payload in cases {
            let err = ExtendedHandshake::from_payload(payload).unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::Malformed,
                "{:?}",
                String::from_utf8_lossy(payload)
            );
        }
        let mut deep = b"d1:x".to_vec();
        deep.extend(std::iter::repeat_n(b'l', 100_000));
        assert!(ExtendedHandshake::from_payload(&deep).is_err());
    }

    #[test]
    fn to_message_uses_id_zero() {
        let Message::Extended { id, .. } = ExtendedHandshake::ours(1, None).to_message() else {
            panic!("not extended");
        };
        assert_eq!(id, EXTENDED_HANDSHAKE_ID);
    }
}
