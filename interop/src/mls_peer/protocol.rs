//! The peer's command protocol: one JSON object per line in, one per line out.
//!
//! A request is `{"op": <name>, ...fields}`; an `id` field, if present, is echoed in the reply. Bytes
//! travel as lower-case hex. A reply is `{"ok": true, ...}` or `{"ok": false, "code": <ErrorCode>,
//! "message": <text>}`; a failed command changes nothing but, for `process`, the message key OpenMLS used
//! up on it.
//!
//! | op              | fields                             | reply fields                           |
//! | --------------- | ---------------------------------- | -------------------------------------- |
//! | `init`          | `identity`                         | `signature_key`                        |
//! | `key_package`   |                                    | `key_package` (an `MLSMessage`)        |
//! | `create_group`  | `group_id`                         | `epoch`                                |
//! | `add`           | `key_package`                      | `commit`, `welcome`, `epoch`           |
//! | `join`          | `welcome`, `ratchet_tree`?         | `group_id`, `epoch`                    |
//! | `commit_update` |                                    | `commit`, `epoch`                      |
//! | `process`       | `message`                          | `kind`, `sender`, `epoch`, `plaintext`?|
//! | `send`          | `plaintext`                        | `message`                              |
//! | `fingerprint`   |                                    | `epoch`, `value`                       |
//! | `ratchet_tree`  |                                    | `ratchet_tree`                         |
//! | `members`       |                                    | `members` (identities, leaf order)     |
//!
//! `process` answers `kind` = `commit` (merged; `epoch` is the new one), `application` (`epoch` is the
//! one it was sent in) or `proposal`.

use serde_json::{Map, Value, json};

use super::error::{ErrorCode, PeerError};
use super::peer::{Peer, Processed};

/// The peer behind the protocol: none until `init`.
#[derive(Default)]
pub struct Session {
    peer: Option<Peer>,
}

fn field<'a>(request: &'a Map<String, Value>, name: &str) -> Result<&'a str, PeerError> {
    request.get(name).and_then(Value::as_str).ok_or_else(|| {
        PeerError::new(
            ErrorCode::BadRequest,
            format!("missing string field `{name}`"),
        )
    })
}

fn bytes(request: &Map<String, Value>, name: &str) -> Result<Vec<u8>, PeerError> {
    hex::decode(field(request, name)?)
        .map_err(|e| PeerError::new(ErrorCode::BadRequest, format!("field `{name}`: {e}")))
}

fn optional_bytes(request: &Map<String, Value>, name: &str) -> Result<Option<Vec<u8>>, PeerError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => bytes(request, name).map(Some),
    }
}

impl Session {
    fn peer(&mut self) -> Result<&mut Peer, PeerError> {
        self.peer.as_mut().ok_or_else(|| {
            PeerError::new(ErrorCode::NotReady, "no identity yet: send `init` first")
        })
    }

    /// Runs one request and builds its reply fields (without `ok` and `id`).
    fn run(&mut self, request: &Map<String, Value>) -> Result<Value, PeerError> {
        let op = field(request, "op")?;
        match op {
            "init" => {
                if self.peer.is_some() {
                    return Err(PeerError::new(ErrorCode::NotReady, "identity already set"));
                }
                let peer = Peer::new(bytes(request, "identity")?)?;
                let key = hex::encode(peer.signature_key());
                self.peer = Some(peer);
                Ok(json!({ "signature_key": key }))
            }
            "key_package" => Ok(json!({ "key_package": hex::encode(self.peer()?.key_package()?) })),
            "create_group" => {
                let group_id = bytes(request, "group_id")?;
                Ok(json!({ "epoch": self.peer()?.create_group(&group_id)? }))
            }
            "add" => {
                let key_package = bytes(request, "key_package")?;
                let out = self.peer()?.add(&key_package)?;
                Ok(json!({
                    "commit": hex::encode(out.commit),
                    "welcome": out.welcome.map(hex::encode),
                    "epoch": out.epoch,
                }))
            }
            "join" => {
                let welcome = bytes(request, "welcome")?;
                let tree = optional_bytes(request, "ratchet_tree")?;
                let peer = self.peer()?;
                let epoch = peer.join(&welcome, tree.as_deref())?;
                Ok(json!({ "group_id": hex::encode(peer.group_id()?), "epoch": epoch }))
            }
            "commit_update" => {
                let out = self.peer()?.commit_update()?;
                Ok(json!({
                    "commit": hex::encode(out.commit),
                    "welcome": out.welcome.map(hex::encode),
                    "epoch": out.epoch,
                }))
            }
            "process" => {
                let message = bytes(request, "message")?;
                Ok(match self.peer()?.process(&message)? {
                    Processed::Commit { sender, epoch } => {
                        json!({ "kind": "commit", "sender": hex::encode(sender), "epoch": epoch })
                    }
                    Processed::Application {
                        sender,
                        epoch,
                        plaintext,
                    } => json!({
                        "kind": "application",
                        "sender": hex::encode(sender),
                        "epoch": epoch,
                        "plaintext": hex::encode(plaintext),
                    }),
                    Processed::Proposal { sender, epoch } => {
                        json!({ "kind": "proposal", "sender": hex::encode(sender), "epoch": epoch })
                    }
                })
            }
            "send" => {
                let plaintext = bytes(request, "plaintext")?;
                Ok(json!({ "message": hex::encode(self.peer()?.send(&plaintext)?) }))
            }
            "fingerprint" => {
                let (epoch, value) = self.peer()?.fingerprint()?;
                Ok(json!({ "epoch": epoch, "value": hex::encode(value) }))
            }
            "ratchet_tree" => {
                Ok(json!({ "ratchet_tree": hex::encode(self.peer()?.ratchet_tree()?) }))
            }
            "members" => {
                let members = self.peer()?.members()?;
                Ok(json!({ "members": members.into_iter().map(hex::encode).collect::<Vec<_>>() }))
            }
            other => Err(PeerError::new(
                ErrorCode::BadRequest,
                format!("unknown op `{other}`"),
            )),
        }
    }

    /// Answers one request line with one reply line (no newline). Never panics on input.
    pub fn handle_line(&mut self, line: &str) -> String {
        let parsed: Result<Map<String, Value>, PeerError> = serde_json::from_str::<Value>(line)
            .map_err(|e| PeerError::new(ErrorCode::BadRequest, format!("not JSON: {e}")))
            .and_then(|v| match v {
                Value::Object(map) => Ok(map),
                _ => Err(PeerError::new(ErrorCode::BadRequest, "not a JSON object")),
            });
        let id = parsed.as_ref().ok().and_then(|m| m.get("id").cloned());
        let mut reply = match parsed.and_then(|request| self.run(&request)) {
            Ok(Value::Object(mut fields)) => {
                fields.insert("ok".into(), Value::Bool(true));
                fields
            }
            Ok(_) => unreachable!("every op answers an object"),
            Err(e) => {
                let mut fields = Map::new();
                fields.insert("ok".into(), Value::Bool(false));
                fields.insert("code".into(), Value::String(e.code.as_str().into()));
                fields.insert("message".into(), Value::String(e.message));
                fields
            }
        };
        if let Some(id) = id {
            reply.insert("id".into(), id);
        }
        Value::Object(reply).to_string()
    }
}
