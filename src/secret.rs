//! Types that hold plaintext: secret values, data keys, identities.
//!
//! Every buffer here is wiped on drop and none of them prints its content through `Debug`;
//! the only way to the bytes is an explicit `expose()` at the point of use (STYLE.md "Secrets in
//! memory"). Nothing in this module may implement `Display` or a `Debug` that shows a value.

use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Plaintext bytes of one secret value (or anything derived from one). Wiped on drop.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(bytes)
    }
    // Infallible, so not `FromStr`; the name reads naturally at call sites.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(s: &str) -> Self {
        SecretBytes(s.as_bytes().to_vec())
    }
    /// The plaintext. Call this only where the bytes are consumed (cipher input, output writer).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    /// The plaintext as UTF-8 text, if it is text.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Takes the buffer out; the caller becomes responsible for wiping it.
    pub fn into_zeroizing(mut self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(std::mem::take(&mut self.0))
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(v: Vec<u8>) -> Self {
        SecretBytes(v)
    }
}
impl From<String> for SecretBytes {
    fn from(s: String) -> Self {
        SecretBytes(s.into_bytes())
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([redacted; {} bytes])", self.0.len())
    }
}

/// A 32-byte symmetric key (the SOPS data key, a sealed-secrets session key). Wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Key32([u8; 32]);

impl Key32 {
    pub fn new(bytes: [u8; 32]) -> Self {
        Key32(bytes)
    }
    pub fn random() -> Self {
        use rand::RngCore;
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Key32(k)
    }
    pub fn from_slice(s: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = s.try_into().ok()?;
        Some(Key32(arr))
    }
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Key32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key32([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = SecretBytes::from_str("hunter2-marker");
        assert!(!format!("{s:?}").contains("hunter2"));
        let k = Key32::new([0x41; 32]);
        assert!(!format!("{k:?}").contains("65"));
        assert!(!format!("{k:?}").contains("AAAA"));
    }
}
