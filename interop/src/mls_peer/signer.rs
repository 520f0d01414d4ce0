//! The peer's Ed25519 signature key, as an OpenMLS `Signer`.
//!
//! OpenMLS signs through the `Signer` trait and ships no implementation outside its test utilities
//! (`openmls_basic_credential` is a separate crate): a few lines over the provider's own `sign` avoid a
//! dependency.

use openmls::prelude::{OpenMlsCrypto, SignatureScheme};
use openmls_traits::signatures::{Signer, SignerError};

/// An Ed25519 key pair held in memory, signing with the RustCrypto provider.
pub struct Ed25519Signer {
    private: Vec<u8>,
    public: Vec<u8>,
    crypto: openmls_rust_crypto::RustCrypto,
}

impl Ed25519Signer {
    /// Draws a fresh key pair from the provider's randomness.
    pub fn generate() -> Result<Self, String> {
        let crypto = openmls_rust_crypto::RustCrypto::default();
        let (private, public) = crypto
            .signature_key_gen(SignatureScheme::ED25519)
            .map_err(|e| format!("signature key generation: {e:?}"))?;
        Ok(Self {
            private,
            public,
            crypto,
        })
    }

    /// The raw 32-byte public key (what a leaf node's `signature_key` holds).
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }
}

impl Signer for Ed25519Signer {
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.crypto
            .sign(SignatureScheme::ED25519, payload, &self.private)
            .map_err(SignerError::CryptoError)
    }

    fn signature_scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}
