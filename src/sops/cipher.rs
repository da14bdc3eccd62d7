//! sops's value cipher: AES-256-GCM with a 32-byte nonce, the key path as AAD, and the
//! `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` envelope (SOPS.md §2).
//!
//! Plaintext goes in and out as [`SecretBytes`]; nothing here formats a value into an error.

use crate::secret::{Key32, SecretBytes};
use crate::sops::tree::{Comment, Node, Scalar};
use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce, Tag};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand::RngCore;
use std::sync::OnceLock;

/// AES-256-GCM with sops's 256-bit nonce (SOPS.md §2.1: GHASH-derived counter block).
type SopsGcm = AesGcm<Aes256, U32>;

/// Why a value could not be decrypted. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("Input string does not match sops' data format")]
    Format,
    #[error("Could not decrypt with AES_GCM: cipher: message authentication failed")]
    Auth,
    #[error("Unknown datatype: {0}")]
    UnknownType(String),
    #[error("Could not parse decrypted value as {0}")]
    BadPlaintext(&'static str),
}

/// The `type:` tag of an encrypted value (SOPS.md §2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    Str,
    Int,
    Float,
    Bool,
    Time,
    Comment,
    Bytes,
}

impl ValueType {
    fn name(self) -> &'static str {
        match self {
            ValueType::Str => "str",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Time => "time",
            ValueType::Comment => "comment",
            ValueType::Bytes => "bytes",
        }
    }
    fn parse(s: &str) -> Result<Self, CipherError> {
        Ok(match s {
            "str" => ValueType::Str,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "time" => ValueType::Time,
            "comment" => ValueType::Comment,
            "bytes" => ValueType::Bytes,
            other => return Err(CipherError::UnknownType(other.to_string())),
        })
    }
}

/// A leaf's plaintext as sops types it.
pub enum Plain {
    Scalar(Scalar),
    Comment(Comment),
}

/// An IV that decryption found, remembered so an unchanged value re-encrypts to the same bytes
/// (SOPS.md §2.6).
pub type Iv = [u8; 32];

/// The parsed `ENC[...]` envelope.
pub struct Envelope {
    pub data: Vec<u8>,
    pub iv: Vec<u8>,
    pub tag: Vec<u8>,
    pub ty: ValueType,
}

/// True if `s` looks like a sops envelope (starts with the fixed prefix).
pub fn is_envelope(s: &[u8]) -> bool {
    s.starts_with(b"ENC[AES256_GCM,data:")
}

fn envelope_regex() -> &'static regex::bytes::Regex {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    // Greedy and anchored at the start only, as sops matches it (SOPS.md §2.3).
    RE.get_or_init(|| {
        regex::bytes::Regex::new(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")
            .expect("static regex")
    })
}

/// The fields of an envelope as sops writes it: exactly `ENC[AES256_GCM,data:D,iv:I,tag:T,type:Y]`
/// with three commas, one `]`, no line break and no field empty. For such a value the greedy regex
/// has only one way to match, so splitting gives its captures without its cost (the regex was a
/// tenth of a bulk `check`, issue 9); anything else goes through the regex.
fn split_plain(s: &[u8]) -> Option<[&[u8]; 4]> {
    let inner = s
        .strip_prefix(b"ENC[AES256_GCM,data:")?
        .strip_suffix(b"]")?;
    if inner.iter().any(|&c| c == b']' || c == b'\n') {
        return None;
    }
    let mut parts = inner.split(|&c| c == b',');
    let data = parts.next()?;
    let iv = parts.next()?.strip_prefix(b"iv:")?;
    let tag = parts.next()?.strip_prefix(b"tag:")?;
    let ty = parts.next()?.strip_prefix(b"type:")?;
    if parts.next().is_some() || [data, iv, tag, ty].iter().any(|f| f.is_empty()) {
        return None;
    }
    Some([data, iv, tag, ty])
}

impl Envelope {
    pub fn parse(s: &[u8]) -> Result<Envelope, CipherError> {
        if !is_envelope(s) {
            return Err(CipherError::Format);
        }
        let fields = match split_plain(s) {
            Some(f) => f,
            None => {
                let caps = envelope_regex().captures(s).ok_or(CipherError::Format)?;
                let field = |i: usize| caps.get(i).map_or(&b""[..], |m| m.as_bytes());
                [field(1), field(2), field(3), field(4)]
            }
        };
        let b64 = |f: &[u8]| B64.decode(f).map_err(|_| CipherError::Format);
        let ty = std::str::from_utf8(fields[3]).map_err(|_| CipherError::Format)?;
        Ok(Envelope {
            data: b64(fields[0])?,
            iv: b64(fields[1])?,
            tag: b64(fields[2])?,
            ty: ValueType::parse(ty)?,
        })
    }

    pub fn format(&self) -> String {
        format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
            B64.encode(&self.data),
            B64.encode(&self.iv),
            B64.encode(&self.tag),
            self.ty.name()
        )
    }
}

/// Encrypts raw bytes under `key` with `aad`; `iv` re-uses a remembered nonce when given.
pub fn seal(key: &Key32, plaintext: &[u8], aad: &[u8], ty: ValueType, iv: Option<&Iv>) -> String {
    let mut nonce = [0u8; 32];
    match iv {
        Some(iv) => nonce.copy_from_slice(iv),
        None => rand::rngs::OsRng.fill_bytes(&mut nonce),
    }
    let cipher = SopsGcm::new(key.expose().into());
    let mut buf = plaintext.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(Nonce::<U32>::from_slice(&nonce), aad, &mut buf)
        .expect("AES-GCM encryption cannot fail for in-memory buffers");
    Envelope {
        data: buf,
        iv: nonce.to_vec(),
        tag: tag.to_vec(),
        ty,
    }
    .format()
}

/// Decrypts an envelope to its raw plaintext bytes. Nonces of any length are accepted on read, as
/// sops builds its GCM instance from the decoded IV length (SOPS.md §2.1); only 32 is fast-pathed.
pub fn open_raw(key: &Key32, env: &Envelope, aad: &[u8]) -> Result<SecretBytes, CipherError> {
    if env.tag.len() != 16 || env.iv.len() != 32 {
        // sops writes 32-byte IVs and 16-byte tags; other sizes come only from tampering or a
        // foreign writer, and GCM with them would fail authentication anyway.
        return Err(CipherError::Auth);
    }
    let cipher = SopsGcm::new(key.expose().into());
    let mut buf = env.data.clone();
    cipher
        .decrypt_in_place_detached(
            Nonce::<U32>::from_slice(&env.iv),
            aad,
            &mut buf,
            Tag::from_slice(&env.tag),
        )
        .map_err(|_| CipherError::Auth)?;
    Ok(SecretBytes::new(buf))
}

/// Decrypts an envelope and parses the plaintext back into its sops type (SOPS.md §2.4).
pub fn open(key: &Key32, s: &[u8], aad: &[u8]) -> Result<(Plain, Iv), CipherError> {
    let env = Envelope::parse(s)?;
    let raw = open_raw(key, &env, aad)?;
    let mut iv = [0u8; 32];
    iv.copy_from_slice(&env.iv);
    Ok((parse_plain(env.ty, raw)?, iv))
}

fn parse_plain(ty: ValueType, raw: SecretBytes) -> Result<Plain, CipherError> {
    let text = || raw.as_str().ok_or(CipherError::BadPlaintext("text"));
    Ok(match ty {
        ValueType::Str | ValueType::Bytes => Plain::Scalar(Scalar::Str(raw)),
        ValueType::Comment => Plain::Comment(Comment(raw)),
        ValueType::Int => Plain::Scalar(Scalar::Int(
            parse_go_int(text()?).ok_or(CipherError::BadPlaintext("int"))?,
        )),
        ValueType::Float => Plain::Scalar(Scalar::Float(
            parse_go_float(text()?).ok_or(CipherError::BadPlaintext("float"))?,
        )),
        ValueType::Bool => Plain::Scalar(Scalar::Bool(
            parse_go_bool(text()?).ok_or(CipherError::BadPlaintext("bool"))?,
        )),
        ValueType::Time => Plain::Scalar(Scalar::Time(
            canonical_time(text()?).ok_or(CipherError::BadPlaintext("time"))?,
        )),
    })
}

/// The bytes sops encrypts (and feeds the MAC) for a scalar, and its type tag (SOPS.md §2.4, §5.1).
pub fn plaintext_of(s: &Scalar) -> (SecretBytes, ValueType) {
    match s {
        Scalar::Str(b) => (b.clone(), ValueType::Str),
        Scalar::Int(i) => (SecretBytes::from(i.to_string()), ValueType::Int),
        Scalar::Float(f) => (SecretBytes::from(go_float_plain(*f)), ValueType::Float),
        Scalar::Bool(b) => (
            SecretBytes::from_str(if *b { "True" } else { "False" }),
            ValueType::Bool,
        ),
        Scalar::Time(t) => (SecretBytes::from_str(t), ValueType::Time),
    }
}

/// Go `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent.
/// Rust's `Display` for f64 has exactly that contract; only the non-finite spellings differ.
pub fn go_float_plain(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{f}")
    }
}

/// Go `strconv.Atoi`: optional sign, decimal digits only.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go `strconv.ParseFloat` for the forms sops writes (and the usual decimal/exponent forms).
fn parse_go_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.replace('_', "").parse().ok(),
    }
}

/// Go `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Parses an RFC 3339 timestamp and re-formats it as Go `RFC3339Nano` (fraction trimmed of
/// trailing zeros, `Z` for UTC, otherwise the offset).
pub fn canonical_time(s: &str) -> Option<String> {
    let dt = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    Some(rfc3339_nano(&dt))
}

pub fn rfc3339_nano(dt: &chrono::DateTime<chrono::FixedOffset>) -> String {
    use chrono::{Offset, Timelike};
    let mut out = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = dt.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    let off = dt.offset().fix().local_minus_utc();
    if off == 0 {
        out.push('Z');
    } else {
        let sign = if off < 0 { '-' } else { '+' };
        let a = off.abs();
        out.push_str(&format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60));
    }
    out
}

/// Go `RFC3339` (whole seconds) — the form of `lastmodified` used as the MAC's AAD (SOPS.md §5.2).
pub fn rfc3339_seconds(s: &str) -> Option<String> {
    // sops writes `lastmodified` as `YYYY-MM-DDTHH:MM:SSZ`, which parsing and printing give back
    // unchanged; checking the shape is a twentieth of chrono's parse and format (issue 9).
    if is_canonical_utc_seconds(s) {
        return Some(s.to_string());
    }
    rfc3339_seconds_general(s)
}

fn rfc3339_seconds_general(s: &str) -> Option<String> {
    let dt = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    use chrono::Offset;
    let mut out = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let off = dt.offset().fix().local_minus_utc();
    if off == 0 {
        out.push('Z');
    } else {
        let sign = if off < 0 { '-' } else { '+' };
        let a = off.abs();
        out.push_str(&format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60));
    }
    Some(out)
}

/// `YYYY-MM-DDTHH:MM:SSZ` naming a real date and time (no leap second: chrono prints those its
/// own way, so they take the general path).
fn is_canonical_utc_seconds(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let parts = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    );
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = parts else {
        return false;
    };
    chrono::NaiveDate::from_ymd_opt(y as i32, mo, d).is_some() && h < 24 && mi < 60 && sec < 60
}

/// Helper for callers that have a scalar node: its sops plaintext, if it has one.
pub fn node_plaintext(n: &Node) -> Option<(SecretBytes, ValueType)> {
    match n {
        Node::Scalar(s) => Some(plaintext_of(s)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical-form shortcut answers exactly as chrono's parse and print.
    #[test]
    fn canonical_timestamps_shortcut_agrees_with_chrono() {
        let mut cases: Vec<String> = [
            "2026-11-24T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "2023-02-29T10:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T23:60:00Z",
            "2026-11-24T23:59:60Z",
            "2026-11-24t00:00:00Z",
            "2026-11-24T00:00:00z",
            "2026-11-24T00:00:0aZ",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for i in 0..400u32 {
            cases.push(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                1990 + i % 50,
                i % 14,
                i % 33,
                i % 25,
                (i * 7) % 61,
                (i * 13) % 61
            ));
        }
        let mut shortcut = 0;
        for c in &cases {
            if is_canonical_utc_seconds(c) {
                shortcut += 1;
                assert_eq!(Some(c.clone()), rfc3339_seconds_general(c), "{c}");
            }
            assert_eq!(rfc3339_seconds(c), rfc3339_seconds_general(c), "{c}");
        }
        assert!(
            shortcut > 50 && shortcut < cases.len(),
            "both paths exercised"
        );
        assert!(is_canonical_utc_seconds("2026-11-24T00:00:00Z"));
    }

    /// The split fast path must give the regex's captures whenever it answers at all.
    #[test]
    fn plain_split_agrees_with_the_regex() {
        let cases: &[&[u8]] = &[
            b"ENC[AES256_GCM,data:QQ==,iv:SVY=,tag:VA==,type:str]",
            b"ENC[AES256_GCM,data:,iv:SVY=,tag:VA==,type:str]",
            b"ENC[AES256_GCM,data:QQ==,iv:SVY=,tag:VA==,type:str]]",
            b"ENC[AES256_GCM,data:QQ==,iv:a,iv:SVY=,tag:VA==,type:str]",
            b"ENC[AES256_GCM,data:QQ==,iv:SVY=,tag:VA==,type:str] trailing",
            b"ENC[AES256_GCM,data:Q\nQ==,iv:SVY=,tag:VA==,type:str]",
            b"ENC[AES256_GCM,data:QQ==,iv:SVY=,tag:VA==,type:]",
            b"ENC[AES256_GCM,data:QQ==,iv:SVY=,tag:,type:str]",
            b"ENC[AES256_GCM,data:\r,iv:\r,tag:\r,type:\r]",
        ];
        let mut fast = 0;
        for c in cases {
            let Some(got) = split_plain(c) else { continue };
            fast += 1;
            let caps = envelope_regex().captures(c).expect("regex matches too");
            for (i, f) in got.iter().enumerate() {
                assert_eq!(
                    *f,
                    &caps[i + 1],
                    "field {i} of {:?}",
                    String::from_utf8_lossy(c)
                );
            }
        }
        assert_eq!(fast, 2, "the plain form and the CR case take the fast path");
    }

    #[test]
    fn go_float_formatting_matches_sops_table() {
        // SOPS.md §2.4 row `float`.
        for (f, s) in [
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1e10, "10000000000"),
            (1e-7, "0.0000001"),
            (1e23, "100000000000000000000000"),
            (3.0, "3"),
            (-0.0, "-0"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(go_float_plain(f), s);
        }
    }

    #[test]
    fn seal_then_open_roundtrips_and_binds_the_path() {
        let key = Key32::random();
        let enc = seal(&key, b"hunter2", b"data:password:", ValueType::Str, None);
        assert!(enc.starts_with("ENC[AES256_GCM,data:"));
        let env = Envelope::parse(enc.as_bytes()).unwrap();
        assert_eq!(env.iv.len(), 32);
        let (plain, _) = open(&key, enc.as_bytes(), b"data:password:").unwrap();
        match plain {
            Plain::Scalar(Scalar::Str(s)) => assert_eq!(s.expose(), b"hunter2"),
            _ => panic!("wrong type"),
        }
        assert!(matches!(
            open(&key, enc.as_bytes(), b"data:other:"),
            Err(CipherError::Auth)
        ));
    }

    #[test]
    fn reused_iv_gives_identical_ciphertext() {
        let key = Key32::random();
        let a = seal(&key, b"x", b"k:", ValueType::Str, None);
        let (_, iv) = open(&key, a.as_bytes(), b"k:").unwrap();
        let b = seal(&key, b"x", b"k:", ValueType::Str, Some(&iv));
        assert_eq!(a, b);
    }

    #[test]
    fn envelope_errors() {
        assert!(matches!(
            Envelope::parse(b"plain"),
            Err(CipherError::Format)
        ));
        assert!(matches!(
            Envelope::parse(b"ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:wat]"),
            Err(CipherError::UnknownType(_))
        ));
    }

    #[test]
    fn times_are_canonicalised() {
        assert_eq!(
            canonical_time("2001-12-14T21:59:43.10-05:00").unwrap(),
            "2001-12-14T21:59:43.1-05:00"
        );
        assert_eq!(
            rfc3339_seconds("2026-11-24T17:53:03.5Z").unwrap(),
            "2026-11-24T17:53:03Z"
        );
        assert_eq!(
            rfc3339_seconds("2026-11-24T17:53:03+00:00").unwrap(),
            "2026-11-24T17:53:03Z"
        );
    }
}
