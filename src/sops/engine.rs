//! Whole-file operations: load an encrypted file, recover its data key, decrypt and verify the
//! MAC; encrypt a plaintext tree into a new file. The commands are thin layers over these.

use crate::secret::{Key32, SecretBytes};
use crate::sops::cipher::{self, Iv, Plain, ValueType};
use crate::sops::error::SopsError;
use crate::sops::format::{self, EmitOptions, Format};
use crate::sops::keys::{self, Identities};
use crate::sops::metadata::{self, KeyGroup, Metadata, Selection};
use crate::sops::tree::{Comment, Item, Node, Scalar, Tree};
use crate::sops::walk::{self, Selector, Visitor};
use sha2::{Digest, Sha512};
use std::collections::HashMap;

/// An encrypted file as loaded: values still in their `ENC[...]` form, metadata taken out.
#[derive(Debug, Clone)]
pub struct EncryptedFile {
    pub format: Format,
    pub tree: Tree,
    pub metadata: Metadata,
}

/// IVs seen while decrypting, by (type, plaintext, AAD), so re-encryption of an unchanged value
/// gives the same bytes (SOPS.md §2.6).
#[derive(Default)]
pub struct IvCache(HashMap<(u8, Vec<u8>, String), Iv>);

impl Drop for IvCache {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for ((_, mut k, _), _) in self.0.drain() {
            k.zeroize();
        }
    }
}

impl std::fmt::Debug for IvCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IvCache({} entries)", self.0.len())
    }
}

fn ty_code(t: ValueType) -> u8 {
    t as u8
}

/// A decrypted file: the plaintext tree plus what re-encryption needs.
#[derive(Debug)]
pub struct Decrypted {
    pub tree: Tree,
    pub data_key: Key32,
    pub ivs: IvCache,
    /// Comments that failed to decrypt and were kept as-is (sops only warns, SOPS.md §4).
    pub warnings: Vec<String>,
}

/// The format of the encrypted representation: binary files are stored as JSON (SOPS.md §7.6).
fn stored_format(f: Format) -> Format {
    if f == Format::Binary {
        Format::Json
    } else {
        f
    }
}

/// Parses an encrypted file.
pub fn load(format: Format, bytes: &[u8]) -> Result<EncryptedFile, SopsError> {
    let mut tree = match format::parse(stored_format(format), bytes) {
        Ok(t) => t,
        // An empty file has no metadata; anything unparsable is sops's exit 1 here.
        Err(format::FormatError::Empty) => return Err(SopsError::MetadataNotFound),
        Err(e) => return Err(SopsError::LoadEncrypted(e)),
    };
    let metadata = metadata::take(format, &mut tree).map_err(|e| match e {
        metadata::MetadataError::NotFound => SopsError::MetadataNotFound,
        other => SopsError::Metadata(other.to_string()),
    })?;
    Ok(EncryptedFile {
        format,
        tree,
        metadata,
    })
}

/// `filestatus`: whether the file carries sops metadata with a version and a MAC.
pub fn is_encrypted(format: Format, bytes: &[u8]) -> Result<bool, SopsError> {
    let mut tree = format::parse(stored_format(format), bytes)?;
    if !metadata::has_metadata(format, &tree) {
        return Ok(false);
    }
    match metadata::take(format, &mut tree) {
        Ok(m) => Ok(!m.version.is_empty() && !m.mac.is_empty()),
        Err(metadata::MetadataError::NotFound) => Ok(false),
        Err(e) => Err(SopsError::Metadata(e.to_string())),
    }
}

fn selector_for(format: Format, sel: Option<&Selection>) -> Result<Selector, SopsError> {
    if format == Format::Binary {
        return Ok(Selector::All);
    }
    Selector::new(sel).map_err(|e| SopsError::Metadata(format!("invalid selection regex: {e}")))
}

fn new_mac(mac_only_encrypted: bool) -> Sha512 {
    let mut h = Sha512::new();
    if mac_only_encrypted {
        // SHA-256("sops") seeds the hash in this mode (SOPS.md §5.1).
        h.update(sha2::Sha256::digest(b"sops"));
    }
    h
}

/// Upper-case hex, as sops prints the MAC (a `format!` per byte was 3 % of a bulk `check`).
fn mac_hex(h: Sha512) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let digest = h.finalize();
    let mut s = String::with_capacity(digest.len() * 2);
    for b in digest {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0x0F)] as char);
    }
    s
}

struct DecryptVisitor<'a> {
    key: &'a Key32,
    mac: Sha512,
    mac_only: bool,
    ivs: IvCache,
    warnings: Vec<String>,
}

impl DecryptVisitor<'_> {
    fn open(&mut self, s: &SecretBytes, aad: &str) -> Result<Plain, SopsError> {
        let (plain, iv) = cipher::open(self.key, s.expose(), aad.as_bytes()).map_err(|e| {
            SopsError::DecryptValue {
                path: aad.to_string(),
                reason: e.to_string(),
            }
        })?;
        let (bytes, ty) = match &plain {
            Plain::Scalar(sc) => cipher::plaintext_of(sc),
            Plain::Comment(c) => (c.0.clone(), ValueType::Comment),
        };
        self.ivs
            .0
            .insert((ty_code(ty), bytes.expose().to_vec(), aad.to_string()), iv);
        Ok(plain)
    }

    fn feed(&mut self, node: &Node) {
        if let Node::Scalar(sc) = node {
            let (b, _) = cipher::plaintext_of(sc);
            self.mac.update(b.expose());
        }
    }

    fn comment_in_place(&mut self, c: &mut Comment, aad: &str) {
        if c.0.is_empty() {
            return;
        }
        match self.open(&c.0.clone(), aad) {
            Ok(Plain::Comment(p)) => *c = p,
            _ => self.warnings.push(
                "Found possibly unencrypted comment in file. This is to be expected if the file being decrypted was created with an older version of SOPS.".into(),
            ),
        }
    }
}

impl Visitor for DecryptVisitor<'_> {
    type Error = SopsError;

    fn value(&mut self, node: &mut Node, aad: &str, selected: bool) -> Result<(), SopsError> {
        if selected {
            if let Node::Scalar(Scalar::Str(s)) = node {
                if s.is_empty() {
                    return Ok(());
                }
                match self.open(&s.clone(), aad)? {
                    Plain::Scalar(sc) => *node = Node::Scalar(sc),
                    Plain::Comment(_) => {
                        return Err(SopsError::DecryptValue {
                            path: aad.into(),
                            reason: "a comment where a value was expected".into(),
                        })
                    }
                }
            } else {
                return Err(SopsError::DecryptValue {
                    path: aad.into(),
                    reason: "Input string does not match sops' data format".into(),
                });
            }
            self.feed(node);
        } else if !self.mac_only {
            self.feed(node);
        }
        Ok(())
    }

    fn comment(&mut self, c: &mut Comment, aad: &str, selected: bool) -> Result<(), SopsError> {
        if selected {
            self.comment_in_place(c, aad);
        }
        Ok(())
    }

    fn seq_leaf(&mut self, item: &mut Item, aad: &str, selected: bool) -> Result<(), SopsError> {
        match item {
            Item::Comment(c) => {
                if selected {
                    self.comment_in_place(c, aad);
                }
                Ok(())
            }
            Item::Node(node) => {
                if selected {
                    if let Node::Scalar(Scalar::Str(s)) = node {
                        if !s.is_empty() {
                            // A `- ENC[...,type:comment]` item turns back into a comment and
                            // stays outside the MAC (SOPS.md §4).
                            if let Plain::Comment(c) = self.open(&s.clone(), aad)? {
                                *item = Item::Comment(c);
                                return Ok(());
                            }
                        }
                    }
                }
                self.value(node, aad, selected)
            }
        }
    }
}

/// Decrypts every selected value and verifies the MAC unless `ignore_mac` (SOPS.md §5.3).
pub fn decrypt_with_key(
    file: &EncryptedFile,
    key: Key32,
    ignore_mac: bool,
) -> Result<Decrypted, SopsError> {
    let meta = &file.metadata;
    let sel = selector_for(file.format, meta.selection.as_ref())?;
    let mut tree = file.tree.clone();
    let mut v = DecryptVisitor {
        key: &key,
        mac: new_mac(meta.mac_only_encrypted),
        mac_only: meta.mac_only_encrypted,
        ivs: IvCache::default(),
        warnings: Vec::new(),
    };
    walk::walk(&mut tree, &sel, &mut v)?;
    let DecryptVisitor {
        mac, ivs, warnings, ..
    } = v;
    if !ignore_mac {
        let computed = mac_hex(mac);
        let aad = cipher::rfc3339_seconds(&meta.last_modified).ok_or_else(|| {
            SopsError::Metadata("lastmodified is not an RFC 3339 timestamp".into())
        })?;
        let stored = if meta.mac.is_empty() {
            "no MAC".to_string()
        } else {
            match cipher::open(&key, meta.mac.as_bytes(), aad.as_bytes()) {
                Ok((Plain::Scalar(Scalar::Str(s)), _)) => {
                    String::from_utf8_lossy(s.expose()).into_owned()
                }
                Ok(_) => return Err(SopsError::Mac("Cannot decrypt MAC: wrong type".into())),
                Err(e) => return Err(SopsError::Mac(format!("Cannot decrypt MAC: {e}"))),
            }
        };
        if stored != computed {
            return Err(SopsError::Mac(format!(
                "MAC mismatch. File has {stored}, computed {computed}"
            )));
        }
    }
    Ok(Decrypted {
        tree,
        data_key: key,
        ivs,
        warnings,
    })
}

/// Recovers the data key with `ids`, then decrypts (SOPS.md §5.3 order: key first, exit 128).
pub fn decrypt(
    file: &EncryptedFile,
    ids: &Identities,
    ignore_mac: bool,
) -> Result<Decrypted, SopsError> {
    let key =
        keys::recover_data_key(&file.metadata, ids).map_err(|e| SopsError::NoDataKey(e.report))?;
    decrypt_with_key(file, key, ignore_mac)
}

struct EncryptVisitor<'a> {
    key: &'a Key32,
    mac: Sha512,
    mac_only: bool,
    ivs: Option<&'a IvCache>,
}

impl EncryptVisitor<'_> {
    fn seal(&self, bytes: &[u8], aad: &str, ty: ValueType) -> String {
        let iv = self
            .ivs
            .and_then(|c| c.0.get(&(ty_code(ty), bytes.to_vec(), aad.to_string())));
        cipher::seal(self.key, bytes, aad.as_bytes(), ty, iv)
    }
}

impl Visitor for EncryptVisitor<'_> {
    type Error = SopsError;

    fn value(&mut self, node: &mut Node, aad: &str, selected: bool) -> Result<(), SopsError> {
        let Node::Scalar(sc) = node else {
            return Ok(());
        };
        let (bytes, ty) = cipher::plaintext_of(sc);
        if !self.mac_only || selected {
            self.mac.update(bytes.expose());
        }
        // Empty strings are never encrypted (SOPS.md §2.5).
        if selected && !(ty == ValueType::Str && bytes.is_empty()) {
            *node = Node::str(&self.seal(bytes.expose(), aad, ty));
        }
        Ok(())
    }

    fn comment(&mut self, c: &mut Comment, aad: &str, selected: bool) -> Result<(), SopsError> {
        if selected && !c.0.is_empty() {
            let enc = self.seal(c.0.expose(), aad, ValueType::Comment);
            *c = Comment(SecretBytes::from(enc));
        }
        Ok(())
    }

    fn seq_leaf(&mut self, item: &mut Item, aad: &str, selected: bool) -> Result<(), SopsError> {
        match item {
            Item::Comment(c) => {
                if selected && !c.0.is_empty() {
                    // sops writes encrypted comments inside sequences as items (SOPS.md §4).
                    let enc = self.seal(c.0.expose(), aad, ValueType::Comment);
                    *item = Item::Node(Node::str(&enc));
                }
                Ok(())
            }
            Item::Node(n) => self.value(n, aad, selected),
        }
    }
}

/// How to encrypt a new file.
#[derive(Clone, Debug, Default)]
pub struct EncryptParams {
    /// Age recipients per key group (one group in the common case).
    pub groups: Vec<Vec<String>>,
    pub shamir_threshold: usize,
    pub selection: Option<Selection>,
    pub mac_only_encrypted: bool,
}

/// Encrypts `tree` with a fresh data key for `params` (the `encrypt` command, SOPS.md §10).
pub fn encrypt(
    tree: Tree,
    format: Format,
    params: &EncryptParams,
) -> Result<EncryptedFile, SopsError> {
    if metadata::has_metadata(format, &tree) {
        return Err(SopsError::AlreadyEncrypted);
    }
    let key = Key32::random();
    let groups = keys::wrap_data_key(&key, &params.groups, params.shamir_threshold)
        .map_err(|e| SopsError::Keys(e.to_string()))?;
    // The binary store drops every selection rule; sops always writes the default for others.
    let selection = if format == Format::Binary {
        None
    } else {
        Some(
            params
                .selection
                .clone()
                .unwrap_or_else(Selection::default_rule),
        )
    };
    // sops writes a configured threshold even for a single group, where it is ignored (§6.5).
    let threshold = params.shamir_threshold;
    encrypt_with_key(
        tree,
        format,
        &key,
        Settings {
            key_groups: groups,
            shamir_threshold: threshold,
            selection,
            mac_only_encrypted: params.mac_only_encrypted,
            version: metadata::SOPS_VERSION.to_string(),
        },
        None,
    )
}

/// Everything but the values that goes into the metadata of a (re-)encrypted file.
#[derive(Clone, Debug)]
pub struct Settings {
    pub key_groups: Vec<KeyGroup>,
    pub shamir_threshold: usize,
    pub selection: Option<Selection>,
    pub mac_only_encrypted: bool,
    pub version: String,
}

/// Encrypts `tree` under an existing data key (edit/set/rotate re-use this), stamping
/// `lastmodified` = now and computing the MAC (SOPS.md §5).
pub fn encrypt_with_key(
    mut tree: Tree,
    format: Format,
    key: &Key32,
    settings: Settings,
    ivs: Option<&IvCache>,
) -> Result<EncryptedFile, SopsError> {
    let sel = selector_for(format, settings.selection.as_ref())?;
    let mut v = EncryptVisitor {
        key,
        mac: new_mac(settings.mac_only_encrypted),
        mac_only: settings.mac_only_encrypted,
        ivs,
    };
    walk::walk(&mut tree, &sel, &mut v)?;
    let last_modified = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mac_plain = mac_hex(v.mac);
    let mac = cipher::seal(
        key,
        mac_plain.as_bytes(),
        last_modified.as_bytes(),
        ValueType::Str,
        None,
    );
    Ok(EncryptedFile {
        format,
        tree,
        metadata: Metadata {
            shamir_threshold: settings.shamir_threshold,
            key_groups: settings.key_groups,
            last_modified,
            mac,
            selection: settings.selection,
            mac_only_encrypted: settings.mac_only_encrypted,
            version: settings.version,
        },
    })
}

/// Serialises an encrypted file with its metadata, as sops lays it out for the format.
pub fn emit_encrypted(file: &EncryptedFile, opts: &EmitOptions) -> Result<Vec<u8>, SopsError> {
    let mut tree = file.tree.clone();
    metadata::attach(file.format, &mut tree, &file.metadata);
    Ok(format::emit(stored_format(file.format), &tree, opts)?)
}

/// Serialises a plaintext tree.
pub fn emit_plain(tree: &Tree, format: Format, opts: &EmitOptions) -> Result<Vec<u8>, SopsError> {
    Ok(format::emit(format, tree, opts)?)
}

#[cfg(test)]
mod tests {
    //! Crypto checks against files written by the real sops, read here through serde_yaml_ng (no
    //! comments, which the MAC ignores anyway) so they do not depend on our own YAML store.
    use super::*;
    use crate::sops::keys::IdentitySources;
    use crate::sops::tree::Mapping;
    use std::path::PathBuf;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sops")
    }

    fn conv(v: &serde_yaml_ng::Value) -> Node {
        use serde_yaml_ng::Value as V;
        match v {
            V::Null => Node::Null,
            V::Bool(b) => Node::Scalar(Scalar::Bool(*b)),
            V::Number(n) => match n.as_i64() {
                Some(i) => Node::Scalar(Scalar::Int(i)),
                None => Node::Scalar(Scalar::Float(n.as_f64().unwrap())),
            },
            V::String(s) => Node::str(s),
            V::Sequence(items) => {
                Node::Sequence(items.iter().map(|i| Item::Node(conv(i))).collect())
            }
            V::Mapping(m) => {
                let mut out = Mapping::new();
                for (k, v) in m {
                    out.push(k.as_str().unwrap().to_string(), conv(v));
                }
                Node::Mapping(out)
            }
            V::Tagged(t) => conv(&t.value),
        }
    }

    fn load_via_serde(case: &str, file: &str) -> EncryptedFile {
        let text = std::fs::read_to_string(fixtures().join("cases").join(case).join(file)).unwrap();
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        let Node::Mapping(m) = conv(&v) else { panic!() };
        let mut tree = Tree { documents: vec![m] };
        let metadata = metadata::take(Format::Yaml, &mut tree).unwrap();
        EncryptedFile {
            format: Format::Yaml,
            tree,
            metadata,
        }
    }

    fn ids(letters: &str) -> Identities {
        let mut text = String::new();
        for l in letters.chars() {
            text.push_str(
                &std::fs::read_to_string(fixtures().join(format!("keys/test-key-{l}.agekey")))
                    .unwrap(),
            );
        }
        Identities::load(&IdentitySources {
            key: Some(text),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn decrypts_and_verifies_real_sops_files() {
        let f = load_via_serde("k8s-secret-flux", "encrypted.yaml");
        let d = decrypt(&f, &ids("a"), false).unwrap();
        let data = d.tree.documents[0]
            .get("data")
            .unwrap()
            .as_mapping()
            .unwrap();
        assert_eq!(data.get("username").unwrap().as_str(), Some("YWRtaW4="));
        let err = decrypt(&f, &ids("b"), false).unwrap_err();
        assert_eq!(err.exit_code(), 128);
        assert!(err.to_string().contains("Failed to get the data key"));
    }

    #[test]
    fn shamir_two_of_three() {
        let f = load_via_serde("yaml-shamir-2of3", "encrypted.yaml");
        for pair in ["ab", "bc", "ac", "abc"] {
            decrypt(&f, &ids(pair), false).unwrap();
        }
        let e = decrypt(&f, &ids("a"), false).unwrap_err();
        assert_eq!(e.exit_code(), 128);
        let flat = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            flat.contains("Shamir threshold of 2, but only 1 part(s)"),
            "{e}"
        );
    }

    #[test]
    fn mac_and_value_tampering_are_caught() {
        for (case, code) in [
            ("neg-reencrypted-value-mac-mismatch", 51),
            ("neg-list-items-swapped", 51),
            ("neg-ciphertext-bitflip", 25),
            ("neg-mac-tampered", 51),
            ("neg-lastmodified-changed", 51),
            ("neg-mac-emptied", 51),
            ("neg-unencrypted-value-edited", 51),
        ] {
            let f = load_via_serde(case, "encrypted.yaml");
            let e = decrypt(&f, &ids("a"), false).unwrap_err();
            assert_eq!(e.exit_code(), code, "{case}: {e}");
        }
        let f = load_via_serde("neg-mac-tampered", "encrypted.yaml");
        decrypt(&f, &ids("a"), true).unwrap();
    }

    #[test]
    fn our_encryption_decrypts_back_with_same_mac() {
        let f = load_via_serde("k8s-secret-flux", "encrypted.yaml");
        let d = decrypt(&f, &ids("a"), false).unwrap();
        let params = EncryptParams {
            groups: vec![vec![
                "age1ks8uufh9q0l3ae7vseg5pj3ns42kdfqd2jfz86sm8tp862wc5y8swyackd".into(),
            ]],
            selection: Some(Selection::EncryptedRegex("^(data|stringData)$".into())),
            ..Default::default()
        };
        let ours = encrypt(d.tree.clone(), Format::Yaml, &params).unwrap();
        let back = decrypt(&ours, &ids("a"), false).unwrap();
        assert!(back.tree == d.tree);
        // Re-encrypting with the IV cache reproduces every value's ciphertext (SOPS.md §2.6).
        let again = encrypt_with_key(
            d.tree.clone(),
            Format::Yaml,
            &d.data_key,
            Settings {
                key_groups: f.metadata.key_groups.clone(),
                shamir_threshold: 0,
                selection: f.metadata.selection.clone(),
                mac_only_encrypted: false,
                version: f.metadata.version.clone(),
            },
            Some(&d.ivs),
        )
        .unwrap();
        assert!(again.tree == f.tree);
    }
}

#[cfg(test)]
mod proptests {
    //! Any tree encrypts and decrypts back to itself, under every selection rule, and any change to
    //! one encrypted value is rejected (GCM or MAC), never decrypted to different plaintext.
    use super::*;
    use crate::sops::keys::IdentitySources;
    use crate::sops::tree::{Entry, Mapping};
    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = Scalar> {
        prop_oneof![
            any::<String>().prop_map(|s| Scalar::str(&s)),
            "[a-zA-Z0-9 _.-]{0,12}".prop_map(|s| Scalar::str(&s)),
            any::<i64>().prop_map(Scalar::Int),
            any::<f64>()
                .prop_filter("NaN never equals itself", |f| !f.is_nan())
                .prop_map(Scalar::Float),
            any::<bool>().prop_map(Scalar::Bool),
            (0i64..4_000_000_000, 0u32..1_000_000_000).prop_map(|(s, n)| {
                let dt = chrono::DateTime::from_timestamp(s, n)
                    .unwrap()
                    .fixed_offset();
                Scalar::Time(cipher::rfc3339_nano(&dt))
            }),
        ]
    }

    fn comment() -> impl Strategy<Value = Comment> {
        "[ -~]{0,20}".prop_map(|s| Comment(SecretBytes::from(s)))
    }

    fn node() -> impl Strategy<Value = Node> {
        let leaf = prop_oneof![Just(Node::Null), scalar().prop_map(Node::Scalar)];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(
                    prop_oneof![
                        4 => ("[a-z_]{1,8}", inner.clone()).prop_map(|(k, v)| Entry::Pair(k, v)),
                        1 => comment().prop_map(Entry::Comment),
                    ],
                    0..6
                )
                .prop_map(|entries| Node::Mapping(Mapping { entries })),
                prop::collection::vec(
                    prop_oneof![
                        4 => inner.prop_map(Item::Node),
                        1 => comment().prop_map(Item::Comment),
                    ],
                    0..6
                )
                .prop_map(Node::Sequence),
            ]
        })
    }

    fn tree() -> impl Strategy<Value = Tree> {
        prop::collection::vec(
            prop::collection::vec(
                prop_oneof![
                    4 => ("[a-z_]{1,8}(_unencrypted)?", node()).prop_map(|(k, v)| Entry::Pair(k, v)),
                    1 => comment().prop_map(Entry::Comment),
                ],
                0..6,
            )
            .prop_map(|entries| Mapping { entries }),
            1..3,
        )
        .prop_map(|documents| Tree { documents })
    }

    fn selection() -> impl Strategy<Value = Option<Selection>> {
        prop_oneof![
            Just(None),
            Just(Some(Selection::EncryptedRegex("^[a-m]".into()))),
            Just(Some(Selection::UnencryptedRegex("^[n-z]".into()))),
            Just(Some(Selection::EncryptedSuffix("a".into()))),
            Just(Some(Selection::UnencryptedCommentRegex("keep".into()))),
            Just(Some(Selection::EncryptedCommentRegex("secret".into()))),
        ]
    }

    fn identities() -> (String, Identities) {
        use age::secrecy::ExposeSecret;
        let id = age::x25519::Identity::generate();
        let text = id.to_string().expose_secret().to_string();
        let ids = Identities::load(&IdentitySources {
            key: Some(text),
            ..Default::default()
        })
        .unwrap();
        (id.to_public().to_string(), ids)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn encrypt_decrypt_roundtrip(t in tree(), sel in selection(), mac_only in any::<bool>()) {
            let (r, ids) = identities();
            let params = EncryptParams {
                groups: vec![vec![r]],
                selection: sel,
                mac_only_encrypted: mac_only,
                ..Default::default()
            };
            let enc = encrypt(t.clone(), Format::Yaml, &params).unwrap();
            let dec = decrypt(&enc, &ids, false).unwrap();
            prop_assert!(dec.tree == t);
        }

        #[test]
        fn tampering_one_value_is_rejected(t in tree(), pick in any::<prop::sample::Index>(), bit in 0usize..64) {
            let (r, ids) = identities();
            let params = EncryptParams { groups: vec![vec![r]], ..Default::default() };
            let enc = encrypt(t, Format::Yaml, &params).unwrap();
            // Collect encrypted value slots; flip one bit in the chosen one's ciphertext/iv/tag text.
            let mut tampered = enc.clone();
            let mut slots: Vec<&mut Node> = Vec::new();
            fn collect<'a>(n: &'a mut Node, out: &mut Vec<&'a mut Node>) {
                match n {
                    Node::Scalar(Scalar::Str(s)) if cipher::is_envelope(s.expose()) => out.push(n),
                    Node::Mapping(m) => for e in m.entries.iter_mut() {
                        if let Entry::Pair(_, v) = e { collect(v, out) }
                    },
                    Node::Sequence(items) => for i in items.iter_mut() {
                        if let Item::Node(v) = i { collect(v, out) }
                    },
                    _ => {}
                }
            }
            for d in tampered.tree.documents.iter_mut() {
                for e in d.entries.iter_mut() {
                    if let Entry::Pair(_, v) = e { collect(v, &mut slots) }
                }
            }
            prop_assume!(!slots.is_empty());
            let slot = pick.get_mut(&mut slots);
            let Node::Scalar(Scalar::Str(s)) = &**slot else { unreachable!() };
            let env = cipher::Envelope::parse(s.expose()).unwrap();
            let mut env2 = cipher::Envelope { data: env.data.clone(), iv: env.iv.clone(), tag: env.tag.clone(), ty: env.ty };
            let field_bits = (env2.data.len() + env2.iv.len() + env2.tag.len()) * 8;
            let b = bit % field_bits;
            let (byte, mask) = (b / 8, 1u8 << (b % 8));
            if byte < env2.data.len() { env2.data[byte] ^= mask }
            else if byte < env2.data.len() + env2.iv.len() { env2.iv[byte - env2.data.len()] ^= mask }
            else { env2.tag[byte - env2.data.len() - env2.iv.len()] ^= mask }
            **slot = Node::str(&env2.format());
            let err = decrypt(&tampered, &ids, false).unwrap_err();
            prop_assert!(matches!(err.exit_code(), 25 | 51), "{}", err);
        }
    }
}
