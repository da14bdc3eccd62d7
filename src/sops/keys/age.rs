//! Wrapping the data key for age recipients and unwrapping it with age identities (SOPS.md §6.2–6.3).
//!
//! Each recipient gets its own ASCII-armored age file holding the 32-byte data key (or, with key
//! groups, its group's 33-byte Shamir share). Identity material never leaves this module except as
//! opaque `age::Identity` objects; no error here quotes a key line.

use age::armor::{ArmoredReader, ArmoredWriter, Format as ArmorFormat};
use std::io::{Read, Write};
use std::str::FromStr;
use zeroize::{Zeroize, Zeroizing};

/// What kind of age recipient a metadata entry names. We can wrap to X25519 and SSH recipients;
/// post-quantum and plugin recipients are recognised so the error can say so plainly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientKind {
    X25519,
    Ssh,
    PostQuantum,
    Plugin,
    Unknown,
}

pub fn recipient_kind(r: &str) -> RecipientKind {
    if r.starts_with("ssh-ed25519 ") || r.starts_with("ssh-rsa ") {
        RecipientKind::Ssh
    } else if r.starts_with("age1pq1") {
        RecipientKind::PostQuantum
    } else if let Some(rest) = r.strip_prefix("age1") {
        // A plugin recipient is `age1<name>1<data>`: more than one separator '1' before the data.
        if rest.contains('1') && age::x25519::Recipient::from_str(r).is_err() {
            RecipientKind::Plugin
        } else {
            RecipientKind::X25519
        }
    } else {
        RecipientKind::Unknown
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AgeError {
    #[error("failed to parse input, unknown recipient type: {0}")]
    UnknownRecipient(String),
    #[error("age recipient {0} is a post-quantum (age1pq1…) recipient, which overworld-secrets does not support yet; use sops ≥ 3.12 for this file")]
    PostQuantum(String),
    #[error("age recipient {0} needs an age plugin, which overworld-secrets does not support")]
    Plugin(String),
    #[error("invalid age recipient {0}: {1}")]
    BadRecipient(String, String),
    #[error("{0}")]
    Decrypt(String),
}

/// Parses one recipient string into an age recipient we can encrypt to.
pub fn parse_recipient(r: &str) -> Result<Box<dyn age::Recipient + Send>, AgeError> {
    match recipient_kind(r) {
        RecipientKind::X25519 => age::x25519::Recipient::from_str(r)
            .map(|x| Box::new(x) as Box<dyn age::Recipient + Send>)
            .map_err(|e| AgeError::BadRecipient(r.to_string(), e.to_string())),
        RecipientKind::Ssh => age::ssh::Recipient::from_str(r)
            .map(|x| Box::new(x) as Box<dyn age::Recipient + Send>)
            .map_err(|e| AgeError::BadRecipient(r.to_string(), format!("{e:?}"))),
        RecipientKind::PostQuantum => Err(AgeError::PostQuantum(r.to_string())),
        RecipientKind::Plugin => Err(AgeError::Plugin(r.to_string())),
        RecipientKind::Unknown => Err(AgeError::UnknownRecipient(r.to_string())),
    }
}

/// Encrypts `payload` (data key or share) to one recipient as an armored age file, with the
/// trailing newline sops stores (SOPS.md §6.2).
pub fn wrap(recipient: &str, payload: &[u8]) -> Result<String, AgeError> {
    let rcpt = parse_recipient(recipient)?;
    let enc =
        age::Encryptor::with_recipients(std::iter::once(rcpt.as_ref() as &dyn age::Recipient))
            .map_err(|e| AgeError::BadRecipient(recipient.to_string(), e.to_string()))?;
    let mut out = Vec::with_capacity(400);
    let armor =
        ArmoredWriter::wrap_output(&mut out, ArmorFormat::AsciiArmor).expect("writing to memory");
    let mut w = enc.wrap_output(armor).expect("writing to memory");
    w.write_all(payload).expect("writing to memory");
    w.finish()
        .and_then(|armor| armor.finish())
        .expect("writing to memory");
    let mut s = String::from_utf8(out).expect("armor is ASCII");
    if !s.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

/// Tries to decrypt one armored (or binary) age file with the identities.
pub fn unwrap(
    enc: &str,
    identities: &[Box<dyn age::Identity + Send + Sync>],
) -> Result<Zeroizing<Vec<u8>>, AgeError> {
    // The buffered constructor reads the header a line at a time; the plain one reads it a few
    // bytes at a time and re-parses from the start after each read, which made header parsing
    // cost as much as the X25519 itself (callgrind on `check` of the benchmark corpus, issue 9).
    let reader = ArmoredReader::new(enc.as_bytes());
    let dec = age::Decryptor::new_buffered(reader).map_err(|e| AgeError::Decrypt(e.to_string()))?;
    let mut r = dec
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| AgeError::Decrypt(e.to_string()))?;
    let mut out = Zeroizing::new(Vec::with_capacity(33));
    r.read_to_end(&mut out)
        .map_err(|e| AgeError::Decrypt(e.to_string()))?;
    Ok(out)
}

/// Parses an age identities file (`age-keygen` format) into identities, sops-style: blank lines and
/// `#` lines ignored; post-quantum and plugin identities are skipped with a note; anything else is
/// an error naming the source and line number (never the line).
pub fn parse_identities(
    source: &str,
    text: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<age::x25519::Identity>, String> {
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("AGE-SECRET-KEY-PQ-") || line.starts_with("AGE-PLUGIN-") {
            notes.push(format!(
                "{source} line {}: post-quantum and plugin identities are not supported; skipped",
                n + 1
            ));
            continue;
        }
        let mut owned = line.to_string();
        let parsed = age::x25519::Identity::from_str(&owned);
        owned.zeroize();
        match parsed {
            Ok(id) => ids.push(id),
            Err(_) => {
                return Err(format!(
                    "{source}: line {} is not an age identity (unknown identity type)",
                    n + 1
                ))
            }
        }
    }
    Ok(ids)
}

/// An age X25519 identity whose agreement runs in aws-lc instead of the age crate's
/// curve25519-dalek. Decrypting a small SOPS file is mostly one X25519 agreement; dalek's portable
/// field arithmetic made it ~8 % of a reseal's and more of a `check`'s samples (issue 9), and
/// aws-lc, already linked for RSA and TLS, has it in assembly. Only the stanza unwrap
/// (c2sp.org/age, "X25519 recipient stanza") is done here; the age crate still parses the header,
/// checks its MAC and decrypts the payload, and its own HKDF and ChaCha20-Poly1305 are used.
pub struct FastX25519 {
    private: aws_lc_rs::agreement::PrivateKey,
    /// The identity's recipient (public key), part of the HKDF salt; computed once here, where
    /// the age crate recomputes it for every stanza.
    public: [u8; 32],
}

const X25519_TAG: &str = "X25519";
const X25519_LABEL: &[u8] = b"age-encryption.org/v1/X25519";
const FILE_KEY_BYTES: usize = 16;

impl FastX25519 {
    /// The same identity, or `None` if aws-lc derives a different recipient than age does
    /// (then the caller keeps age's own; never expected, but a mismatch must not lose a key).
    pub fn from_age(id: &age::x25519::Identity) -> Option<FastX25519> {
        use age::secrecy::ExposeSecret;
        let text = id.to_string();
        let (_, data) = bech32::decode(text.expose_secret()).ok()?;
        let data = Zeroizing::new(data);
        let private = aws_lc_rs::agreement::PrivateKey::from_private_key(
            &aws_lc_rs::agreement::X25519,
            &data,
        )
        .ok()?;
        let public: [u8; 32] = private
            .compute_public_key()
            .ok()?
            .as_ref()
            .try_into()
            .ok()?;
        let expected = id.to_public().to_string();
        let (_, want) = bech32::decode(&expected).ok()?;
        (want == public).then_some(FastX25519 { private, public })
    }
}

impl age::Identity for FastX25519 {
    fn unwrap_stanza(
        &self,
        stanza: &age_core::format::Stanza,
    ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        use base64::Engine;
        if stanza.tag != X25519_TAG {
            return None;
        }
        // A malformed stanza is a bad header, as the age crate answers; a stanza for another key
        // is `None`, so the next identity is tried.
        let bad = Some(Err(age::DecryptError::InvalidHeader));
        let [arg] = &stanza.args[..] else { return bad };
        // Canonical unpadded base64 of exactly 32 bytes (the base64 engine refuses padding and
        // non-zero trailing bits).
        let mut share = [0u8; 33];
        match base64::engine::general_purpose::STANDARD_NO_PAD.decode_slice(arg, &mut share) {
            Ok(32) => {}
            _ => return bad,
        }
        let share = &share[..32];
        if stanza.body.len() != FILE_KEY_BYTES + 16 {
            return bad;
        }
        // aws-lc refuses an all-zero shared secret (a low-order share), which age also rejects.
        let shared = aws_lc_rs::agreement::agree(
            &self.private,
            aws_lc_rs::agreement::UnparsedPublicKey::new(&aws_lc_rs::agreement::X25519, share),
            (),
            |s| Ok(Zeroizing::new(s.to_vec())),
        );
        let Ok(shared) = shared else { return bad };
        let mut salt = [0u8; 64];
        salt[..32].copy_from_slice(share);
        salt[32..].copy_from_slice(&self.public);
        let mut key = age_core::primitives::hkdf(&salt, X25519_LABEL, &shared);
        let opened = age_core::primitives::aead_decrypt(&key, FILE_KEY_BYTES, &stanza.body);
        key.zeroize();
        // Failing to open means the stanza is for another recipient.
        let mut pt = Zeroizing::new(opened.ok()?);
        Some(Ok(age_core::format::FileKey::init_with_mut(|fk| {
            fk.copy_from_slice(&pt);
            pt.zeroize();
        })))
    }
}

/// Loads an SSH private key file as an age identity (ssh-ed25519 / ssh-rsa), SOPS.md §6.3.
pub fn parse_ssh_identity(
    path: &std::path::Path,
    bytes: &[u8],
) -> Result<Box<dyn age::Identity + Send + Sync>, String> {
    let id = age::ssh::Identity::from_buffer(bytes, Some(path.display().to_string()))
        .map_err(|e| format!("{}: not a usable SSH private key ({e})", path.display()))?;
    match id {
        age::ssh::Identity::Unencrypted(_) => Ok(Box::new(id)),
        age::ssh::Identity::Encrypted(_) => Err(format!(
            "{}: passphrase-protected SSH keys are not supported; use an age identity or an unencrypted key",
            path.display()
        )),
        age::ssh::Identity::Unsupported(_) => Err(format!(
            "{}: this SSH key type cannot be used with age",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    #[test]
    fn wrap_unwrap_roundtrip_and_armor_shape() {
        let id = age::x25519::Identity::generate();
        let r = id.to_public().to_string();
        let enc = wrap(&r, &[7u8; 32]).unwrap();
        assert!(enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert!(enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
        let ids: Vec<Box<dyn age::Identity + Send + Sync>> = vec![Box::new(id.clone())];
        assert_eq!(&unwrap(&enc, &ids).unwrap()[..], &[7u8; 32]);
        let mut notes = vec![];
        let text = format!("# created\n{}\n", id.to_string().expose_secret());
        assert_eq!(parse_identities("t", &text, &mut notes).unwrap().len(), 1);
        match parse_identities("t", "garbage-secret-line\n", &mut notes) {
            Err(e) => {
                assert!(e.contains("line 1"));
                assert!(!e.contains("garbage"), "the line itself is never echoed");
            }
            Ok(_) => panic!("garbage accepted"),
        }
    }

    #[test]
    fn recipient_kinds() {
        assert_eq!(
            recipient_kind("age1ks8uufh9q0l3ae7vseg5pj3ns42kdfqd2jfz86sm8tp862wc5y8swyackd"),
            RecipientKind::X25519
        );
        assert_eq!(recipient_kind("age1pq1abc"), RecipientKind::PostQuantum);
        assert_eq!(recipient_kind("age1yubikey1qabc"), RecipientKind::Plugin);
        assert_eq!(recipient_kind("ssh-ed25519 AAAA"), RecipientKind::Ssh);
    }

    /// What an identity answers for a stanza, comparable across implementations.
    fn answer(
        id: &dyn age::Identity,
        st: &age_core::format::Stanza,
    ) -> Option<Result<[u8; 16], String>> {
        id.unwrap_stanza(st)
            .map(|r| r.map(|k| *k.expose_secret()).map_err(|e| format!("{e:?}")))
    }

    fn stanza(tag: &str, args: &[&str], body: Vec<u8>) -> age_core::format::Stanza {
        age_core::format::Stanza {
            tag: tag.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            body,
        }
    }

    /// The aws-lc unwrap answers exactly as the age crate's own X25519 identity (curve25519-dalek,
    /// an independent implementation) for stanzas to it, to other keys, and malformed ones.
    #[test]
    fn fast_x25519_answers_like_the_age_crate() {
        use age::Recipient as _;
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
        for round in 0..24u8 {
            let id = age::x25519::Identity::generate();
            let fast = FastX25519::from_age(&id).expect("aws-lc derives age's recipient");
            let other = age::x25519::Identity::generate();
            let file_key = age_core::format::FileKey::new(Box::new([round; 16]));
            let (mine, _) = id.to_public().wrap_file_key(&file_key).unwrap();
            let (theirs, _) = other.to_public().wrap_file_key(&file_key).unwrap();
            let ok = &mine[0];
            assert_eq!(answer(&fast, ok), Some(Ok([round; 16])));
            assert_eq!(answer(&fast, ok), answer(&id, ok));
            assert_eq!(
                answer(&fast, &theirs[0]),
                None,
                "another key's stanza is not ours"
            );
            assert_eq!(answer(&fast, &theirs[0]), answer(&id, &theirs[0]));

            let share = &ok.args[0];
            let mut flipped = ok.body.clone();
            flipped[round as usize % 32] ^= 1;
            let padded = format!("{share}=");
            let zero = b64.encode([0u8; 32]);
            let one = b64.encode({
                let mut u = [0u8; 32];
                u[0] = 1;
                u
            });
            // The last character of 32 bytes in base64 carries 4 unused bits: set one.
            let mut noncanonical = share.clone().into_bytes();
            let last = noncanonical.len() - 1;
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let pos = alphabet
                .iter()
                .position(|&c| c == noncanonical[last])
                .unwrap();
            noncanonical[last] = alphabet[pos | 1];
            let noncanonical = String::from_utf8(noncanonical).unwrap();
            let cases = [
                stanza("X25519", &[share], flipped),
                stanza("x25519", &[share], ok.body.clone()),
                stanza("scrypt", &[share], ok.body.clone()),
                stanza("X25519", &[], ok.body.clone()),
                stanza("X25519", &[share, share], ok.body.clone()),
                stanza("X25519", &[&padded], ok.body.clone()),
                stanza("X25519", &[&noncanonical], ok.body.clone()),
                stanza("X25519", &[&share[..42]], ok.body.clone()),
                stanza("X25519", &[share], ok.body[..31].to_vec()),
                stanza("X25519", &[share], [&ok.body[..], &[0]].concat()),
                stanza("X25519", &[&zero], ok.body.clone()),
                stanza("X25519", &[&one], ok.body.clone()),
            ];
            for (i, st) in cases.iter().enumerate() {
                assert_eq!(
                    answer(&fast, st),
                    answer(&id, st),
                    "case {i} of round {round}"
                );
            }
        }
    }
}
