//! Sealing secrets at rest: AES-256-GCM (ring) with a random 96-bit nonce
//! per value, and associated data naming the table, column, row and key, so
//! a sealed value copied to another row or column fails to open. Each value
//! records the id of the key that sealed it; older keys stay able to open
//! values until they are re-sealed, so keys can rotate.

use std::collections::HashMap;
use std::fmt;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};

/// Why a value could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The value was sealed with a key we do not have.
    #[error("unknown key id {0}")]
    UnknownKey(String),
    /// Tampered, moved to another row, or a wrong key.
    #[error("sealed value does not open")]
    DoesNotOpen,
    /// The system random source failed.
    #[error("no randomness available")]
    NoRandomness,
}

/// The encryption keys: one current (sealing), any number of older ones.
pub struct Keyring {
    current_id: String,
    keys: HashMap<String, LessSafeKey>,
    random: SystemRandom,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("current_id", &self.current_id).field("keys", &self.keys.len()).finish()
    }
}

/// A key's id: the first 8 bytes of its SHA-256, in hex (not secret).
fn key_id(key: &[u8; 32]) -> String {
    hex::encode(&digest(&SHA256, key).as_ref()[..8])
}

fn less_safe(key: &[u8; 32]) -> Option<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, key).ok().map(LessSafeKey::new)
}

impl Keyring {
    /// A keyring sealing with `current`, still opening with `previous`.
    pub fn new(current: [u8; 32], previous: &[[u8; 32]]) -> Option<Keyring> {
        let mut keys = HashMap::new();
        for key in previous.iter().chain(std::iter::once(&current)) {
            keys.insert(key_id(key), less_safe(key)?);
        }
        Some(Keyring { current_id: key_id(&current), keys, random: SystemRandom::new() })
    }

    /// The id of the key that seals: a value whose key id differs was
    /// sealed under an older key (and is re-sealed by [`crate::PgStore::reseal`]).
    pub fn current_id(&self) -> &str {
        &self.current_id
    }

    /// Seals `plaintext` for `context` (table/column/row); returns the key
    /// id and `nonce || ciphertext || tag`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<(String, Vec<u8>), CryptoError> {
        let key = self.keys.get(&self.current_id).ok_or_else(|| CryptoError::UnknownKey(self.current_id.clone()))?;
        let mut nonce = [0_u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| CryptoError::NoRandomness)?;
        let mut sealed = plaintext.to_vec();
        let aad = format!("{context}:{}", self.current_id);
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad.as_bytes()), &mut sealed)
            .map_err(|_| CryptoError::DoesNotOpen)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok((self.current_id.clone(), out))
    }

    /// Opens a value sealed by [`Keyring::seal`] for the same context.
    pub fn open(&self, key_id: &str, sealed: &[u8], context: &str) -> Result<Vec<u8>, CryptoError> {
        let key = self.keys.get(key_id).ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::DoesNotOpen);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::DoesNotOpen)?;
        let mut buffer = body.to_vec();
        let aad = format!("{context}:{key_id}");
        let plain =
            key.open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buffer).map_err(|_| CryptoError::DoesNotOpen)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: [u8; 32] = [7; 32];
    const NEW: [u8; 32] = [9; 32];

    #[test]
    fn a_sealed_value_opens_only_in_its_own_context() {
        let ring = Keyring::new(NEW, &[]).unwrap();
        let (id, sealed) = ring.seal(b"sk_live_secret", "t/c/row-1").unwrap();
        assert_eq!(ring.open(&id, &sealed, "t/c/row-1").unwrap(), b"sk_live_secret");
        assert_eq!(ring.open(&id, &sealed, "t/c/row-2"), Err(CryptoError::DoesNotOpen));
        assert!(!sealed.windows(14).any(|w| w == b"sk_live_secret"));
    }

    #[test]
    fn a_tampered_value_does_not_open() {
        let ring = Keyring::new(NEW, &[]).unwrap();
        let (id, mut sealed) = ring.seal(b"secret", "ctx").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(ring.open(&id, &sealed, "ctx"), Err(CryptoError::DoesNotOpen));
        assert_eq!(ring.open(&id, &sealed[..4], "ctx"), Err(CryptoError::DoesNotOpen));
    }

    #[test]
    fn nonces_differ_so_equal_values_seal_differently() {
        let ring = Keyring::new(NEW, &[]).unwrap();
        assert_ne!(ring.seal(b"same", "ctx").unwrap().1, ring.seal(b"same", "ctx").unwrap().1);
    }

    #[test]
    fn values_sealed_with_a_rotated_out_key_still_open() {
        let old = Keyring::new(OLD, &[]).unwrap();
        let (old_id, sealed) = old.seal(b"secret", "ctx").unwrap();
        let rotated = Keyring::new(NEW, &[OLD]).unwrap();
        assert_eq!(rotated.open(&old_id, &sealed, "ctx").unwrap(), b"secret");
        let (new_id, _) = rotated.seal(b"secret", "ctx").unwrap();
        assert_ne!(new_id, old_id);
        let without_old = Keyring::new(NEW, &[]).unwrap();
        assert_eq!(without_old.open(&old_id, &sealed, "ctx"), Err(CryptoError::UnknownKey(old_id)));
    }
}

/// Secrets from the operating system's secure random source (ring's
/// `SystemRandom`).
#[derive(Debug)]
pub struct SystemSecrets(SystemRandom);

impl Default for SystemSecrets {
    fn default() -> Self {
        Self(SystemRandom::new())
    }
}

impl domain::ports::SecretSource for SystemSecrets {
    fn secret_bytes(&self) -> Result<[u8; 32], domain::ports::StoreError> {
        let mut bytes = [0_u8; 32];
        self.0
            .fill(&mut bytes)
            .map_err(|_| domain::ports::StoreError::Unavailable("no secure randomness available".to_owned()))?;
        Ok(bytes)
    }
}
