//! Hybrid encryption of one value, exactly as kubeseal seals and the controller unseals
//! (SEALED-SECRETS.md §1).
//!
//! It exists so that the byte layout `u16 BE len || RSA-OAEP(session key) || AES-GCM(value)` lives
//! in one place. It must never reuse a session key (the AES-GCM nonce is all zeros, §1.2 step 3),
//! never put a plaintext or key byte into an error, and never offer deterministic encryption
//! (§1.4).

use std::sync::Arc;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_192_GCM, AES_256_GCM};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeyPair, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey, OAEP_SHA256_MGF1SHA256,
};
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::secret::{Key32, SecretBytes};

use super::cert::pem_blocks;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("RSA-OAEP encryption failed (key rejected by the crypto library)")]
    RsaEncrypt,
    #[error("AES-GCM encryption failed")]
    AesEncrypt,
    #[error("the random number generator failed")]
    Random,
    /// The controller's wording for every per-item failure except bad base64 (§1.3, §3.1).
    #[error("no key could decrypt secret")]
    NoKeyCouldDecrypt,
    /// Go's `base64.CorruptInputError` text (§3.1).
    #[error("illegal base64 data at input byte {0}")]
    IllegalBase64(usize),
    #[error("{0}")]
    KeyLoad(String),
}

/// The RSA public key values are sealed to. `Clone` is an `Arc` bump; `Send + Sync`, so reseal
/// can seal items on several threads with one key.
#[derive(Clone)]
pub struct SealingPublicKey(Arc<OaepPublicEncryptingKey>);

impl std::fmt::Debug for SealingPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealingPublicKey(RSA-{})", self.key_size_bits())
    }
}

impl SealingPublicKey {
    /// From a DER `SubjectPublicKeyInfo` (what a certificate carries).
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, CryptoError> {
        let pk = PublicEncryptingKey::from_der(spki)
            .map_err(|_| CryptoError::KeyLoad("RSA public key rejected".into()))?;
        let oaep = OaepPublicEncryptingKey::new(pk)
            .map_err(|_| CryptoError::KeyLoad("RSA public key rejected".into()))?;
        Ok(SealingPublicKey(Arc::new(oaep)))
    }
    pub fn key_size_bits(&self) -> usize {
        self.0.key_size_bits()
    }
    /// Modulus size in bytes: the length of the RSA block in every ciphertext (§1.2 step 4).
    pub fn key_size_bytes(&self) -> usize {
        self.0.key_size_bytes()
    }
}

/// Seals one value (§1.2): fresh random 32-byte session key, RSA-OAEP(SHA-256, MGF1-SHA-256,
/// `label`) of that key, AES-256-GCM with a zero nonce of the value; returns the raw bytes
/// `u16 BE len(rsa_ct) || rsa_ct || aes_ct || tag`.
pub fn seal_value(
    key: &SealingPublicKey,
    label: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    // From aws-lc's DRBG (seeded from the OS), the generator the OAEP padding itself draws on:
    // asking the OS for every session key was a system call per value (issue 9).
    let mut fresh = Zeroizing::new([0u8; 32]);
    aws_lc_rs::rand::fill(&mut *fresh).map_err(|_| CryptoError::Random)?;
    let session_key = Key32::from_slice(&*fresh).expect("32 bytes");
    seal_with_session_key(key, label, plaintext, &session_key)
}

/// [`seal_value`], encoded as the standard padded base64 stored in `encryptedData` (§1.2 step 5).
pub fn seal_value_b64(
    key: &SealingPublicKey,
    label: &[u8],
    plaintext: &[u8],
) -> Result<String, CryptoError> {
    Ok(base64::engine::general_purpose::STANDARD.encode(seal_value(key, label, plaintext)?))
}

fn seal_with_session_key(
    key: &SealingPublicKey,
    label: &[u8],
    plaintext: &[u8],
    session_key: &Key32,
) -> Result<Vec<u8>, CryptoError> {
    let k = key.key_size_bytes();
    let mut out = vec![0u8; 2 + k];
    out[..2].copy_from_slice(&(k as u16).to_be_bytes());
    // An empty label and no label are the same in OAEP (§1.2 step 2); pass None for empty so
    // the library does not special-case a zero-length buffer.
    let label = (!label.is_empty()).then_some(label);
    let written = key
        .0
        .encrypt(
            &OAEP_SHA256_MGF1SHA256,
            session_key.expose(),
            &mut out[2..],
            label,
        )
        .map_err(|_| CryptoError::RsaEncrypt)?
        .len();
    if written != k {
        return Err(CryptoError::RsaEncrypt);
    }
    let aes = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, session_key.expose()).map_err(|_| CryptoError::AesEncrypt)?,
    );
    // Sized for the tag up front so the buffer holding the plaintext is never reallocated
    // (a reallocation would free an unwiped copy); wiped on drop, also on the error path.
    let mut body = Zeroizing::new(Vec::with_capacity(plaintext.len() + AES_256_GCM.tag_len()));
    body.extend_from_slice(plaintext);
    aes.seal_in_place_append_tag(
        Nonce::assume_unique_for_key([0u8; 12]),
        Aad::empty(),
        &mut *body,
    )
    .map_err(|_| CryptoError::AesEncrypt)?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Go `base64.StdEncoding.DecodeString` (§1.3): `\r` and `\n` are skipped, everything else must
/// be the standard alphabet with correct padding. The error carries the byte offset (as Go's
/// `CorruptInputError`), never the content.
pub fn go_std_b64decode(s: &str) -> Result<Vec<u8>, CryptoError> {
    // The input may be a base64-encoded secret value: keep the working copy wiped.
    let mut cleaned = Zeroizing::new(Vec::with_capacity(s.len()));
    let mut positions = Vec::with_capacity(s.len());
    for (i, b) in s.bytes().enumerate() {
        if b == b'\r' || b == b'\n' {
            continue;
        }
        cleaned.push(b);
        positions.push(i);
    }
    let bad = |j: usize| CryptoError::IllegalBase64(positions.get(j).copied().unwrap_or(s.len()));
    for (j, &b) in cleaned.iter().enumerate() {
        let ok = b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=';
        if !ok {
            return Err(bad(j));
        }
        if b == b'=' {
            // Padding only in the last two places of a complete quantum.
            let tail = &cleaned[j..];
            let valid_tail = tail.iter().all(|&c| c == b'=') && tail.len() <= 2;
            if !valid_tail || cleaned.len() % 4 != 0 {
                return Err(bad(j));
            }
        }
    }
    if cleaned.len() % 4 != 0 {
        return Err(bad(cleaned.len()));
    }
    base64::engine::general_purpose::STANDARD
        .decode(&*cleaned)
        .map_err(|e| match e {
            base64::DecodeError::InvalidByte(j, _)
            | base64::DecodeError::InvalidLastSymbol(j, _) => bad(j),
            _ => bad(cleaned.len()),
        })
}

/// Private keys to unseal with (the controller's registry, §1.3 / §6). `Send + Sync`.
#[derive(Default)]
pub struct UnsealingKeys {
    keys: Vec<OaepPrivateDecryptingKey>,
}

impl std::fmt::Debug for UnsealingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UnsealingKeys([redacted; {} keys])", self.keys.len())
    }
}

impl UnsealingKeys {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn len(&self) -> usize {
        self.keys.len()
    }
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
    pub fn extend(&mut self, other: UnsealingKeys) {
        self.keys.extend(other.keys);
    }

    /// Loads a key file in any form `kubeseal --recovery-private-key` takes (§4.7): PEM private
    /// keys (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`, several blocks allowed), or a
    /// YAML/JSON key Secret backup (`data.tls.key`), or a `kind: List` of them.
    pub fn load(bytes: &[u8]) -> Result<Self, CryptoError> {
        let trimmed = String::from_utf8_lossy(bytes);
        if trimmed.trim_start().starts_with("-----BEGIN") {
            return Self::from_pem(bytes);
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| CryptoError::KeyLoad("key file is neither PEM nor UTF-8 YAML".into()))?;
        let mut keys = UnsealingKeys::new();
        for doc in super::object::parse_documents(text)
            .map_err(|e| CryptoError::KeyLoad(format!("key file: {e}")))?
        {
            keys.add_from_manifest(&doc)?;
        }
        if keys.is_empty() {
            return Err(CryptoError::KeyLoad("no RSA private key found".into()));
        }
        Ok(keys)
    }

    /// Every `RSA PRIVATE KEY` / `PRIVATE KEY` block in `pem`.
    pub fn from_pem(pem: &[u8]) -> Result<Self, CryptoError> {
        let mut keys = UnsealingKeys::new();
        for (label, der) in pem_blocks(pem) {
            let der = Zeroizing::new(der);
            let key = match label.as_str() {
                "RSA PRIVATE KEY" => {
                    let pair = KeyPair::from_der(&der).map_err(|_| {
                        CryptoError::KeyLoad("unreadable PKCS#1 RSA private key".into())
                    })?;
                    let pkcs8 = pair
                        .as_der()
                        .map_err(|_| CryptoError::KeyLoad("cannot re-encode RSA key".into()))?;
                    PrivateDecryptingKey::from_pkcs8(pkcs8.as_ref())
                }
                "PRIVATE KEY" => PrivateDecryptingKey::from_pkcs8(&der),
                _ => continue,
            }
            .map_err(|_| CryptoError::KeyLoad(format!("unreadable or non-RSA {label}")))?;
            keys.keys.push(
                OaepPrivateDecryptingKey::new(key)
                    .map_err(|_| CryptoError::KeyLoad("RSA key rejected".into()))?,
            );
        }
        if keys.is_empty() {
            return Err(CryptoError::KeyLoad("no RSA private key found".into()));
        }
        Ok(keys)
    }

    fn add_from_manifest(&mut self, doc: &serde_json::Value) -> Result<(), CryptoError> {
        let Some(obj) = doc.as_object() else {
            return Ok(());
        };
        let kind = obj.get("kind").and_then(|k| k.as_str());
        if kind == Some("List") || (kind.is_none() && obj.contains_key("items")) {
            for item in obj
                .get("items")
                .and_then(|i| i.as_array())
                .into_iter()
                .flatten()
            {
                self.add_from_manifest(item)?;
            }
            return Ok(());
        }
        if matches!(kind, Some("Secret") | None) {
            if let Some(data) = obj.get("data").and_then(|d| d.as_object()) {
                let name = obj
                    .get("metadata")
                    .and_then(|m| m.get("name"))
                    .and_then(|n| n.as_str())
                    .unwrap_or("<unnamed>");
                let tls_key = data
                    .get("tls.key")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| {
                        CryptoError::KeyLoad(format!("secret {name} must contain a 'tls.key' item"))
                    })?;
                let pem = Zeroizing::new(go_std_b64decode(tls_key).map_err(|e| {
                    CryptoError::KeyLoad(format!("secret {name}: data.tls.key: {e}"))
                })?);
                self.extend(Self::from_pem(&pem)?);
            }
        }
        Ok(())
    }

    /// Opens one `encryptedData` value (base64 text) with the scope label (§1.3): every key is
    /// tried; the first one for which both RSA-OAEP and AES-GCM succeed wins.
    pub fn unseal_value(&self, label: &[u8], b64: &str) -> Result<SecretBytes, CryptoError> {
        let blob = go_std_b64decode(b64)?;
        self.unseal_bytes(label, &blob)
    }

    /// [`UnsealingKeys::unseal_value`] on already-decoded bytes. Too-short input fails like a
    /// wrong key (§1.3: the controller swallows its "too short" error).
    pub fn unseal_bytes(&self, label: &[u8], blob: &[u8]) -> Result<SecretBytes, CryptoError> {
        if blob.len() < 2 {
            return Err(CryptoError::NoKeyCouldDecrypt);
        }
        let rsa_len = u16::from_be_bytes([blob[0], blob[1]]) as usize;
        if blob.len() < 2 + rsa_len {
            return Err(CryptoError::NoKeyCouldDecrypt);
        }
        let (rsa_ct, aes_ct) = blob[2..].split_at(rsa_len);
        let label = (!label.is_empty()).then_some(label);
        for key in &self.keys {
            let mut buf = Zeroizing::new(vec![0u8; key.min_output_size()]);
            let Ok(session) = key.decrypt(&OAEP_SHA256_MGF1SHA256, rsa_ct, &mut buf, label) else {
                continue;
            };
            // The controller does not check the session-key length; Go's AES takes 16/24/32
            // bytes (§1.3 quirk).
            let alg = match session.len() {
                16 => &AES_128_GCM,
                24 => &AES_192_GCM,
                32 => &AES_256_GCM,
                _ => continue,
            };
            let Ok(unbound) = UnboundKey::new(alg, session) else {
                continue;
            };
            let aes = LessSafeKey::new(unbound);
            let mut in_out = Zeroizing::new(aes_ct.to_vec());
            if let Ok(plain) = aes.open_in_place(
                Nonce::assume_unique_for_key([0u8; 12]),
                Aad::empty(),
                &mut in_out,
            ) {
                return Ok(SecretBytes::new(plain.to_vec()));
            }
        }
        Err(CryptoError::NoKeyCouldDecrypt)
    }
}

/// Free-function form of [`UnsealingKeys::unseal_value`].
pub fn unseal_value(
    keys: &UnsealingKeys,
    label: &[u8],
    b64: &str,
) -> Result<SecretBytes, CryptoError> {
    keys.unseal_value(label, b64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sealed::cert::SealingCert;
    use crate::sealed::test_support::fixture;

    fn cert(name: &str) -> SealingCert {
        SealingCert::from_pem(&std::fs::read(fixture(name)).unwrap()).unwrap()
    }
    fn keys(name: &str) -> UnsealingKeys {
        UnsealingKeys::load(&std::fs::read(fixture(name)).unwrap()).unwrap()
    }

    #[test]
    fn layout_matches_the_spec() {
        for (file, prefix, k) in [
            // Bytes 02 00 / 01 00: base64 "Ag"/"AQ" (the third character depends on rsa_ct).
            ("TEST-ONLY-sealing-cert.pem", "Ag", 512),
            ("TEST-ONLY-other-cert-2048.pem", "AQ", 256),
        ] {
            let c = cert(file);
            let raw = seal_value(c.public_key(), b"ns/name", b"hello").unwrap();
            assert_eq!(raw.len(), 2 + k + 5 + 16);
            assert_eq!(u16::from_be_bytes([raw[0], raw[1]]) as usize, k);
            let b64 = seal_value_b64(c.public_key(), b"ns/name", b"hello").unwrap();
            assert!(b64.starts_with(prefix), "{b64}");
            // Fresh session key and OAEP seed: two seals of the same value differ.
            assert_ne!(
                b64,
                seal_value_b64(c.public_key(), b"ns/name", b"hello").unwrap()
            );
        }
    }

    #[test]
    fn round_trip_with_labels_and_all_key_forms() {
        let c = cert("TEST-ONLY-controller-style-cert.pem");
        for key_file in [
            "TEST-ONLY-sealing-key.pem",
            "TEST-ONLY-sealing-key.secret.yaml",
            "TEST-ONLY-keys-backup.list.yaml",
        ] {
            let k = keys(key_file);
            for (label, value) in [
                (&b""[..], &b""[..]),
                (b"apps", b"\x00\x01\xff binary"),
                (b"apps/db", "ünïcödé ✓".as_bytes()),
            ] {
                let sealed = seal_value_b64(c.public_key(), label, value).unwrap();
                let opened = k.unseal_value(label, &sealed).unwrap();
                assert_eq!(opened.expose(), value, "{key_file}");
                // Wrong label => the controller's text.
                let err = k.unseal_value(b"other/label", &sealed).unwrap_err();
                assert_eq!(err.to_string(), "no key could decrypt secret");
            }
        }
        assert_eq!(keys("TEST-ONLY-keys-backup.list.yaml").len(), 2);
    }

    #[test]
    fn short_or_bad_input_fails_like_the_controller() {
        let k = keys("TEST-ONLY-sealing-key.pem");
        assert!(matches!(
            k.unseal_value(b"", "AgA="),
            Err(CryptoError::NoKeyCouldDecrypt)
        ));
        assert!(matches!(
            k.unseal_value(b"", ""),
            Err(CryptoError::NoKeyCouldDecrypt)
        ));
        assert_eq!(
            k.unseal_value(b"", "Ag-_").unwrap_err().to_string(),
            "illegal base64 data at input byte 2"
        );
    }

    #[test]
    fn go_base64_rules() {
        assert_eq!(go_std_b64decode("aGk=").unwrap(), b"hi");
        assert_eq!(go_std_b64decode("aG\r\nk=").unwrap(), b"hi");
        assert!(go_std_b64decode("aGk").is_err()); // padding required
        assert!(go_std_b64decode("aG k=").is_err()); // other whitespace rejected
        assert!(go_std_b64decode("a=Gk").is_err());
        assert!(go_std_b64decode("aGk=aGk=").is_err());
        assert_eq!(go_std_b64decode("").unwrap(), b"");
    }

    /// Manual timing, not a benchmark (SEALED-SECRETS.md §10 has the reference numbers).
    #[test]
    #[ignore = "manual timing: cargo test --release --lib sealed::crypto::tests::seal_rate -- --ignored --nocapture"]
    fn seal_rate() {
        let c = cert("TEST-ONLY-sealing-cert.pem");
        let n = 3000;
        let start = std::time::Instant::now();
        for i in 0..n {
            let v = format!("value-{i:026}");
            std::hint::black_box(seal_value(c.public_key(), b"ns/name", v.as_bytes()).unwrap());
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "RSA-{}: {n} values in {secs:.3}s = {:.0} values/s (one thread)",
            c.key_bits(),
            n as f64 / secs
        );
    }

    #[test]
    fn sealing_key_is_send_sync_and_cheap() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<SealingPublicKey>();
        fn assert_send_sync2<T: Send + Sync>() {}
        assert_send_sync2::<UnsealingKeys>();
    }
}
