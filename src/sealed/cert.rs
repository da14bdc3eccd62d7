//! The sealing certificate: the controller's public key as kubeseal reads it.
//!
//! It exists so that every caller validates a certificate exactly the way kubeseal does (first
//! `CERTIFICATE` block, RSA key, not expired — SEALED-SECRETS.md §4.6) and can show the identities
//! operators compare (§5). It must never accept a non-RSA key or an expired certificate for
//! sealing, and it never touches the network: callers hand it the PEM bytes.

use std::fmt::Write as _;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode, Reader, SliceReader};
use x509_cert::Certificate;

use super::crypto::SealingPublicKey;

/// OID of `rsaEncryption` (PKCS #1), the only key algorithm the controller makes (§5).
const RSA_ENCRYPTION_OID: &str = "1.2.840.113549.1.1.1";

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// client-go's `cert.ParseCertsPEM` wording, which kubeseal surfaces (§4.6).
    #[error("data does not contain any valid RSA or ECDSA certificates")]
    NoCertificate,
    #[error("invalid certificate: {0}")]
    Invalid(String),
    /// kubeseal: `expected RSA public key but found <key>` (§4.6).
    #[error("expected RSA public key but found {0}")]
    NotRsa(String),
    /// kubeseal's exact text (§4.6); the CLI prefixes `error: `.
    #[error("failed to encrypt using an expired certificate on {0}")]
    Expired(String),
}

/// A parsed sealing certificate (first `CERTIFICATE` block of a PEM file). Cheap to clone and
/// `Send + Sync`: the public key inside is shared.
#[derive(Clone, Debug)]
pub struct SealingCert {
    der: Vec<u8>,
    spki_der: Vec<u8>,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    key: SealingPublicKey,
}

impl SealingCert {
    /// Parses the first `CERTIFICATE` PEM block (§4.6: later blocks are ignored, like kubeseal).
    /// Does not check expiry: call [`SealingCert::check_not_expired`] before sealing.
    pub fn from_pem(pem: &[u8]) -> Result<Self, CertError> {
        let der = first_pem_block(pem, "CERTIFICATE").ok_or(CertError::NoCertificate)?;
        Self::from_der(&der)
    }

    /// Parses a DER certificate. Accepts the controller's empty subject/issuer (§5).
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let cert = Certificate::from_der(der).map_err(|e| CertError::Invalid(e.to_string()))?;
        let tbs = &cert.tbs_certificate;
        let spki = &tbs.subject_public_key_info;
        let oid = spki.algorithm.oid.to_string();
        if oid != RSA_ENCRYPTION_OID {
            return Err(CertError::NotRsa(key_algorithm_name(&oid)));
        }
        let spki_der = spki
            .to_der()
            .map_err(|e| CertError::Invalid(e.to_string()))?;
        let pk_bits = spki.subject_public_key.as_bytes().ok_or_else(|| {
            CertError::Invalid("public key is not a whole number of bytes".into())
        })?;
        let (modulus, exponent) = parse_rsa_public_key(pk_bits)
            .ok_or_else(|| CertError::Invalid("malformed RSA public key".into()))?;
        let key = SealingPublicKey::from_spki_der(&spki_der).map_err(|_| {
            CertError::Invalid("RSA public key rejected (unsupported size?)".into())
        })?;
        Ok(SealingCert {
            der: der.to_vec(),
            spki_der,
            not_before: to_chrono(tbs.validity.not_before),
            not_after: to_chrono(tbs.validity.not_after),
            modulus,
            exponent,
            key,
        })
    }

    /// The public key to seal with.
    pub fn public_key(&self) -> &SealingPublicKey {
        &self.key
    }
    pub fn not_before(&self) -> DateTime<Utc> {
        self.not_before
    }
    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }
    /// Expired means `now > NotAfter` (Go `time.Now().After(cert.NotAfter)`, §4.6).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now > self.not_after
    }
    /// Whole days until NotAfter (negative once expired).
    pub fn days_left(&self, now: DateTime<Utc>) -> i64 {
        (self.not_after - now).num_days()
    }
    /// kubeseal refuses expired certificates with no override (§4.6, upstream #791).
    pub fn check_not_expired(&self, now: DateTime<Utc>) -> Result<(), CertError> {
        if self.is_expired(now) {
            // Go layout "January 2, 2006".
            return Err(CertError::Expired(
                self.not_after.format("%B %-d, %Y").to_string(),
            ));
        }
        Ok(())
    }
    /// RSA modulus size in bits (4096 for the controller default, §5).
    pub fn key_bits(&self) -> usize {
        self.key.key_size_bits()
    }
    /// The DER certificate.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
    /// SHA-256 of the DER certificate, lower-case hex (`openssl x509 -fingerprint -sha256`, §5).
    pub fn cert_sha256(&self) -> String {
        hex(&Sha256::digest(&self.der))
    }
    /// SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex: the key's identity across
    /// re-issued certificates (§5).
    pub fn spki_sha256(&self) -> String {
        hex(&Sha256::digest(&self.spki_der))
    }
    /// The controller's key id: `SHA256:` + unpadded base64 of SHA-256 over the SSH wire form
    /// `string("ssh-rsa") || mpint(e) || mpint(n)` (§5; equals `ssh-keygen -lf`).
    pub fn ssh_fingerprint(&self) -> String {
        let mut blob = Vec::with_capacity(self.modulus.len() + 32);
        ssh_string(&mut blob, b"ssh-rsa");
        ssh_mpint(&mut blob, &self.exponent);
        ssh_mpint(&mut blob, &self.modulus);
        let digest = Sha256::digest(&blob);
        format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
        )
    }
}

fn to_chrono(t: x509_cert::time::Time) -> DateTime<Utc> {
    let d = t.to_unix_duration();
    DateTime::<Utc>::from_timestamp(d.as_secs() as i64, d.subsec_nanos()).unwrap_or_default()
}

fn key_algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.2.1" => "an ECDSA public key".into(),
        "1.3.101.112" => "an Ed25519 public key".into(),
        "1.2.840.10040.4.1" => "a DSA public key".into(),
        other => format!("a public key of algorithm {other}"),
    }
}

/// Decodes the body of the first PEM block with the given label. Whitespace inside the body is
/// ignored; headers (RFC 1421 `Proc-Type:` lines) are not supported (certificates never have them).
pub(crate) fn first_pem_block(pem: &[u8], label: &str) -> Option<Vec<u8>> {
    pem_blocks(pem)
        .into_iter()
        .find(|(l, _)| l == label)
        .map(|(_, der)| der)
}

/// All decodable PEM blocks, in order: (label, DER bytes).
pub(crate) fn pem_blocks(pem: &[u8]) -> Vec<(String, Vec<u8>)> {
    let text = String::from_utf8_lossy(pem);
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].to_string();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) = body_start.find(&end_marker) else {
            break;
        };
        let body: String = body_start[..body_end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body.as_bytes()) {
            out.push((label, der));
        }
        rest = &body_start[body_end + end_marker.len()..];
    }
    out
}

/// PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` → (n, e) as
/// unsigned big-endian bytes without leading zeros.
fn parse_rsa_public_key(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    use x509_cert::der::asn1::UintRef;
    let mut reader = SliceReader::new(der).ok()?;
    let (n, e) = reader
        .sequence(|r| {
            let n = UintRef::decode(r)?;
            let e = UintRef::decode(r)?;
            Ok((n.as_bytes().to_vec(), e.as_bytes().to_vec()))
        })
        .ok()?;
    Some((n, e))
}

fn ssh_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// RFC 4251 mpint of a non-negative number: minimal bytes, a 0x00 prefix when the top bit is set.
fn ssh_mpint(out: &mut Vec<u8>, unsigned: &[u8]) {
    let trimmed: &[u8] = {
        let first = unsigned
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(unsigned.len());
        &unsigned[first..]
    };
    let pad = trimmed.first().is_some_and(|b| b & 0x80 != 0);
    let len = trimmed.len() + usize::from(pad);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    if pad {
        out.push(0);
    }
    out.extend_from_slice(trimmed);
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sealed::test_support::{fixture, own_fixture};
    use chrono::TimeZone;

    fn load(name: &str) -> SealingCert {
        SealingCert::from_pem(&std::fs::read(fixture(name)).unwrap()).unwrap()
    }

    // Values from the fixture README table (computed there with openssl / ssh-keygen).
    #[test]
    fn fingerprints_match_the_fixture_table() {
        let main_ssh = "SHA256:Nhy+DOW0fd1Ni+jpRDzKOwoYgWCWzk0N4NOJ/XMaaME";
        let main_spki = "f288d2c184ad1947d0cef73b98520703144381786f0ab738cc9071cf227c5f7b";
        for (file, cert_sha, ssh, spki, bits) in [
            (
                "TEST-ONLY-sealing-cert.pem",
                "c31993333187ebfe76f8e36c6983a18ef7770945e34c7c9f17e247fc462ce515",
                main_ssh,
                main_spki,
                4096,
            ),
            (
                "TEST-ONLY-controller-style-cert.pem",
                "d7bab2fecc9580cacc5288dc2e9b3857ef42d2f3f4bc81d1dae58bef47acfd75",
                main_ssh,
                main_spki,
                4096,
            ),
            (
                "TEST-ONLY-expired-cert.pem",
                "b9b2cdc34b6ecf5f25f0f32eff0582eb18faefb1a97ef71e135bc8f9e5cefb57",
                main_ssh,
                main_spki,
                4096,
            ),
            (
                "TEST-ONLY-other-cert-2048.pem",
                "65900da5b8d0ea8e997fa54a90b64124dd91149f9850162bf6ab7d5617316dfa",
                "SHA256:wpgaQHX09uKRtbBdnhsBP8aLE2Aay+ICHoIB1FU0dzc",
                "a2cbea5f1837ce8a42bce2d4506d389cee5a3952dc1e13c4a2cc096a8e105e46",
                2048,
            ),
        ] {
            let c = load(file);
            assert_eq!(c.cert_sha256(), cert_sha, "{file}");
            assert_eq!(c.ssh_fingerprint(), ssh, "{file}");
            assert_eq!(c.spki_sha256(), spki, "{file}");
            assert_eq!(c.key_bits(), bits, "{file}");
        }
    }

    #[test]
    fn controller_style_cert_with_empty_subject_parses() {
        let c = load("TEST-ONLY-controller-style-cert.pem");
        // 3650 days of validity (§5).
        assert_eq!((c.not_after() - c.not_before()).num_days(), 3650);
    }

    #[test]
    fn expired_certificate_is_refused_with_kubeseal_text() {
        let c = load("TEST-ONLY-expired-cert.pem");
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert!(c.is_expired(now));
        assert!(c.days_left(now) < 0);
        let err = c.check_not_expired(now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to encrypt using an expired certificate on January 1, 2021"
        );
        // Just before NotAfter it is still valid.
        let before = c.not_after() - chrono::Duration::seconds(1);
        assert!(c.check_not_expired(before).is_ok());
        assert!(!load("TEST-ONLY-sealing-cert.pem").is_expired(now));
    }

    #[test]
    fn non_rsa_certificate_is_refused_like_kubeseal() {
        let pem = std::fs::read(own_fixture("TEST-ONLY-ecdsa-cert.pem")).unwrap();
        let err = SealingCert::from_pem(&pem).unwrap_err();
        assert!(matches!(err, CertError::NotRsa(_)));
        assert!(
            err.to_string()
                .starts_with("expected RSA public key but found an ECDSA public key"),
            "{err}"
        );
    }

    #[test]
    fn first_certificate_block_wins_and_garbage_is_rejected() {
        let a = std::fs::read_to_string(fixture("TEST-ONLY-other-cert-2048.pem")).unwrap();
        let b = std::fs::read_to_string(fixture("TEST-ONLY-sealing-cert.pem")).unwrap();
        let both = format!("junk\n{a}\n{b}");
        assert_eq!(
            SealingCert::from_pem(both.as_bytes()).unwrap().key_bits(),
            2048
        );
        assert!(matches!(
            SealingCert::from_pem(b"nothing here"),
            Err(CertError::NoCertificate)
        ));
        // A private key PEM is not a certificate.
        let key = std::fs::read(fixture("TEST-ONLY-sealing-key.pem")).unwrap();
        assert!(matches!(
            SealingCert::from_pem(&key),
            Err(CertError::NoCertificate)
        ));
    }
}
