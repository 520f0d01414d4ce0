//! One OpenMLS client in one group, configured as de-MLS configures OpenMLS.
//!
//! Every operation takes and returns TLS-encoded MLS bytes (`MLSMessage` framing, as demls publishes
//! them), so the driver never sees an OpenMLS type. The configuration mirrors de-MLS 4.0.0's engine
//! (`mls_crypto/engine.rs`): suite 1, basic credentials, the ratchet tree carried in the Welcome, and
//! OpenMLS's default (pure ciphertext) wire format policy, which is also demls's: every handshake and
//! application message is a `PrivateMessage`.

use openmls::prelude::tls_codec::Serialize as _;
use openmls::prelude::*;
use openmls_rust_crypto::OpenMlsRustCrypto;

use super::error::{ErrorCode, PeerError};
use super::signer::Ed25519Signer;

/// The ciphersuite de-MLS runs (its test fixtures' `TEST_SUITE`) and demls's only one (RFC 9420 suite 1).
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// The exporter label of demls's state fingerprint (docs/spec/recovery.md, section 2).
pub const FINGERPRINT_LABEL: &str = "demls/state-fp";

/// Length in bytes of the state fingerprint.
pub const FINGERPRINT_LENGTH: usize = 32;

/// What processing one message did.
pub enum Processed {
    /// A commit, merged: the group is now at `epoch`.
    Commit { sender: Vec<u8>, epoch: u64 },
    /// An application message sent in `epoch`.
    Application {
        sender: Vec<u8>,
        epoch: u64,
        plaintext: Vec<u8>,
    },
    /// A standalone proposal, queued for this member's next commit.
    Proposal { sender: Vec<u8>, epoch: u64 },
}

/// A commit this peer made and merged, with the Welcome for the members it adds.
pub struct CommitOut {
    pub commit: Vec<u8>,
    pub welcome: Option<Vec<u8>>,
    pub epoch: u64,
}

/// An OpenMLS member: its identity, its provider (crypto and the in-memory key store holding its
/// KeyPackages' private keys) and at most one group.
pub struct Peer {
    provider: OpenMlsRustCrypto,
    signer: Ed25519Signer,
    credential: CredentialWithKey,
    group: Option<MlsGroup>,
}

/// de-MLS's creator configuration (`OpenMlsService::new_as_creator`), with the wire format policy and
/// the suite spelled out.
fn create_config() -> MlsGroupCreateConfig {
    MlsGroupCreateConfig::builder()
        .ciphersuite(CIPHERSUITE)
        .use_ratchet_tree_extension(true)
        .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        .build()
}

/// de-MLS's joiner configuration (`OpenMlsService::new_from_welcome`).
fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .use_ratchet_tree_extension(true)
        .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        .build()
}

fn encode(message: &MlsMessageOut, what: &'static str) -> Result<Vec<u8>, PeerError> {
    message
        .to_bytes()
        .map_err(PeerError::map(ErrorCode::Internal, what))
}

fn decode_message(bytes: &[u8], what: &'static str) -> Result<MlsMessageIn, PeerError> {
    MlsMessageIn::tls_deserialize_exact_bytes(bytes)
        .map_err(PeerError::map(ErrorCode::Malformed, what))
}

impl Peer {
    /// A member whose basic credential carries `identity`, with a fresh Ed25519 signature key.
    pub fn new(identity: Vec<u8>) -> Result<Self, PeerError> {
        let signer =
            Ed25519Signer::generate().map_err(|e| PeerError::new(ErrorCode::Internal, e))?;
        let credential = CredentialWithKey {
            credential: BasicCredential::new(identity).into(),
            signature_key: signer.public_key().to_vec().into(),
        };
        Ok(Self {
            provider: OpenMlsRustCrypto::default(),
            signer,
            credential,
            group: None,
        })
    }

    fn group(&self) -> Result<&MlsGroup, PeerError> {
        self.group
            .as_ref()
            .ok_or_else(|| PeerError::new(ErrorCode::NotReady, "no group yet"))
    }

    /// The provider, the signer and the group, borrowed apart (OpenMLS calls take all three).
    fn parts(&mut self) -> Result<(&OpenMlsRustCrypto, &Ed25519Signer, &mut MlsGroup), PeerError> {
        let group = self
            .group
            .as_mut()
            .ok_or_else(|| PeerError::new(ErrorCode::NotReady, "no group yet"))?;
        Ok((&self.provider, &self.signer, group))
    }

    fn no_group_yet(&self) -> Result<(), PeerError> {
        match self.group {
            Some(_) => Err(PeerError::new(ErrorCode::NotReady, "already in a group")),
            None => Ok(()),
        }
    }

    /// A fresh KeyPackage (OpenMLS defaults: capabilities, a lifetime of about three months), encoded
    /// as an `MLSMessage`; its private keys stay in this peer's key store for the Welcome.
    pub fn key_package(&self) -> Result<Vec<u8>, PeerError> {
        let bundle = KeyPackage::builder()
            .build(
                CIPHERSUITE,
                &self.provider,
                &self.signer,
                self.credential.clone(),
            )
            .map_err(PeerError::map(ErrorCode::Internal, "KeyPackage"))?;
        encode(
            &MlsMessageOut::from(bundle.key_package().clone()),
            "KeyPackage",
        )
    }

    /// Creates a one-member group with id `group_id` at epoch 0.
    pub fn create_group(&mut self, group_id: &[u8]) -> Result<u64, PeerError> {
        self.no_group_yet()?;
        let group = MlsGroup::new_with_group_id(
            &self.provider,
            &self.signer,
            &create_config(),
            GroupId::from_slice(group_id),
            self.credential.clone(),
        )
        .map_err(PeerError::map(ErrorCode::Internal, "create group"))?;
        self.group = Some(group);
        self.epoch()
    }

    /// Commits the addition of the member whose KeyPackage is `key_package` (an `MLSMessage`, as
    /// demls publishes it, or a bare `KeyPackage`, as de-MLS passes it) and merges the commit.
    pub fn add(&mut self, key_package: &[u8]) -> Result<CommitOut, PeerError> {
        let kp_in = match MlsMessageIn::tls_deserialize_exact_bytes(key_package) {
            Ok(m) => match m.extract() {
                MlsMessageBodyIn::KeyPackage(kp) => kp,
                _ => return Err(PeerError::new(ErrorCode::Malformed, "not a KeyPackage")),
            },
            Err(_) => KeyPackageIn::tls_deserialize_exact_bytes(key_package)
                .map_err(PeerError::map(ErrorCode::Malformed, "KeyPackage"))?,
        };
        let kp = kp_in
            .validate(self.provider.crypto(), ProtocolVersion::Mls10)
            .map_err(PeerError::map(ErrorCode::Rejected, "KeyPackage"))?;
        let (provider, signer, group) = self.parts()?;
        let (commit, welcome, _group_info) = group
            .add_members(provider, signer, &[kp])
            .map_err(PeerError::map(ErrorCode::Rejected, "add"))?;
        group
            .merge_pending_commit(provider)
            .map_err(PeerError::map(ErrorCode::Internal, "merge own commit"))?;
        Ok(CommitOut {
            commit: encode(&commit, "commit")?,
            welcome: Some(encode(&welcome, "Welcome")?),
            epoch: group.epoch().as_u64(),
        })
    }

    /// Joins from a Welcome made for one of this peer's KeyPackages. `ratchet_tree` (a TLS-encoded
    /// `ratchet_tree` extension body) is needed only when the Welcome does not carry the tree.
    pub fn join(&mut self, welcome: &[u8], ratchet_tree: Option<&[u8]>) -> Result<u64, PeerError> {
        self.no_group_yet()?;
        let welcome = match decode_message(welcome, "Welcome")?.extract() {
            MlsMessageBodyIn::Welcome(w) => w,
            _ => return Err(PeerError::new(ErrorCode::Malformed, "not a Welcome")),
        };
        let tree = match ratchet_tree {
            Some(bytes) => Some(
                RatchetTreeIn::tls_deserialize_exact_bytes(bytes)
                    .map_err(PeerError::map(ErrorCode::Malformed, "ratchet tree"))?,
            ),
            None => None,
        };
        let staged = StagedWelcome::new_from_welcome(&self.provider, &join_config(), welcome, tree)
            .map_err(PeerError::map(ErrorCode::Rejected, "Welcome"))?;
        let group = staged
            .into_group(&self.provider)
            .map_err(PeerError::map(ErrorCode::Rejected, "Welcome"))?;
        self.group = Some(group);
        self.epoch()
    }

    /// The current ratchet tree, TLS-encoded (for a joiner whose Welcome lacks it).
    pub fn ratchet_tree(&self) -> Result<Vec<u8>, PeerError> {
        self.group()?
            .export_ratchet_tree()
            .tls_serialize_detached()
            .map_err(PeerError::map(ErrorCode::Internal, "ratchet tree"))
    }

    /// A commit with an update path and no proposals of its own (pending ones, if any, are included):
    /// refreshes this member's leaf keys and moves the group to the next epoch. Merged at once.
    pub fn commit_update(&mut self) -> Result<CommitOut, PeerError> {
        let (provider, signer, group) = self.parts()?;
        let bundle = group
            .self_update(provider, signer, LeafNodeParameters::default())
            .map_err(PeerError::map(ErrorCode::Rejected, "self update"))?;
        let commit = encode(bundle.commit(), "commit")?;
        let welcome = match bundle.to_welcome_msg() {
            Some(w) => Some(encode(&w, "Welcome")?),
            None => None,
        };
        group
            .merge_pending_commit(provider)
            .map_err(PeerError::map(ErrorCode::Internal, "merge own commit"))?;
        Ok(CommitOut {
            commit,
            welcome,
            epoch: group.epoch().as_u64(),
        })
    }

    /// Processes a group message: a commit is validated and merged, an application message decrypted,
    /// a proposal queued. A message OpenMLS refuses leaves the epoch as it was, but OpenMLS 0.8.1 has
    /// already taken that message's key out of the secret tree: its genuine copy is then refused too
    /// (`SecretReuseError`; docs/conformance.md).
    pub fn process(&mut self, message: &[u8]) -> Result<Processed, PeerError> {
        let protocol = decode_message(message, "message")?
            .try_into_protocol_message()
            .map_err(PeerError::map(ErrorCode::Malformed, "not a group message"))?;
        let (provider, _, group) = self.parts()?;
        let processed = group
            .process_message(provider, protocol)
            .map_err(PeerError::map(ErrorCode::Rejected, "process"))?;
        let sender = processed.credential().serialized_content().to_vec();
        let epoch = processed.epoch().as_u64();
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(app) => Ok(Processed::Application {
                sender,
                epoch,
                plaintext: app.into_bytes(),
            }),
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                group
                    .merge_staged_commit(provider, *staged)
                    .map_err(PeerError::map(ErrorCode::Internal, "merge commit"))?;
                Ok(Processed::Commit {
                    sender,
                    epoch: group.epoch().as_u64(),
                })
            }
            ProcessedMessageContent::ProposalMessage(proposal)
            | ProcessedMessageContent::ExternalJoinProposalMessage(proposal) => {
                group
                    .store_pending_proposal(provider.storage(), *proposal)
                    .map_err(PeerError::map(ErrorCode::Internal, "store proposal"))?;
                Ok(Processed::Proposal { sender, epoch })
            }
        }
    }

    /// Encrypts an application message for the current epoch.
    pub fn send(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, PeerError> {
        let (provider, signer, group) = self.parts()?;
        let message = group
            .create_message(provider, signer, plaintext)
            .map_err(PeerError::map(ErrorCode::Rejected, "send"))?;
        encode(&message, "application message")
    }

    /// The current epoch.
    pub fn epoch(&self) -> Result<u64, PeerError> {
        Ok(self.group()?.epoch().as_u64())
    }

    /// demls's state fingerprint of the current epoch:
    /// `MLS-Exporter("demls/state-fp", group_id || u64(epoch), 32)`, big-endian epoch.
    pub fn fingerprint(&self) -> Result<(u64, Vec<u8>), PeerError> {
        let group = self.group()?;
        let epoch = group.epoch().as_u64();
        let mut context = group.group_id().as_slice().to_vec();
        context.extend_from_slice(&epoch.to_be_bytes());
        let value = group
            .export_secret(
                self.provider.crypto(),
                FINGERPRINT_LABEL,
                &context,
                FINGERPRINT_LENGTH,
            )
            .map_err(PeerError::map(ErrorCode::Internal, "exporter"))?;
        Ok((epoch, value))
    }

    /// The raw Ed25519 public key of this member's credential.
    pub fn signature_key(&self) -> &[u8] {
        self.signer.public_key()
    }

    /// The group id.
    pub fn group_id(&self) -> Result<Vec<u8>, PeerError> {
        Ok(self.group()?.group_id().as_slice().to_vec())
    }

    /// Credential identities of the members, in leaf order.
    pub fn members(&self) -> Result<Vec<Vec<u8>>, PeerError> {
        Ok(self
            .group()?
            .members()
            .map(|m| m.credential.serialized_content().to_vec())
            .collect())
    }
}
