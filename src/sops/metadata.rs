//! The `sops` metadata block (SOPS.md §7): its fields, their order, and where each store keeps it
//! (a `sops` key for YAML/JSON/binary, flattened `sops_*` lines for dotenv, a `[sops]` section for INI).
//!
//! Master keys of types we cannot use (pgp, kms, gcp_kms, azure_kv, hc_vault, hckms) are kept as the
//! raw nodes we read, in order, so rewriting a file never drops them.

use crate::sops::format::Format;
use crate::sops::tree::{Entry, Item, Mapping, Node, Scalar, Tree};

/// sops's own version string, written as `version:` (SOPS.md §7.1). We write the version of the
/// reference build we are proven against.
pub const SOPS_VERSION: &str = "3.11.0";

/// Which leaves are encrypted (SOPS.md §3.2). At most one per file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(String),
    EncryptedRegex(String),
    UnencryptedCommentRegex(String),
    EncryptedCommentRegex(String),
}

impl Selection {
    pub const FIELDS: [&'static str; 6] = [
        "unencrypted_suffix",
        "encrypted_suffix",
        "unencrypted_regex",
        "encrypted_regex",
        "unencrypted_comment_regex",
        "encrypted_comment_regex",
    ];
    pub fn field(&self) -> &'static str {
        match self {
            Selection::UnencryptedSuffix(_) => "unencrypted_suffix",
            Selection::EncryptedSuffix(_) => "encrypted_suffix",
            Selection::UnencryptedRegex(_) => "unencrypted_regex",
            Selection::EncryptedRegex(_) => "encrypted_regex",
            Selection::UnencryptedCommentRegex(_) => "unencrypted_comment_regex",
            Selection::EncryptedCommentRegex(_) => "encrypted_comment_regex",
        }
    }
    pub fn value(&self) -> &str {
        match self {
            Selection::UnencryptedSuffix(s)
            | Selection::EncryptedSuffix(s)
            | Selection::UnencryptedRegex(s)
            | Selection::EncryptedRegex(s)
            | Selection::UnencryptedCommentRegex(s)
            | Selection::EncryptedCommentRegex(s) => s,
        }
    }
    pub fn from_field(field: &str, value: String) -> Option<Selection> {
        Some(match field {
            "unencrypted_suffix" => Selection::UnencryptedSuffix(value),
            "encrypted_suffix" => Selection::EncryptedSuffix(value),
            "unencrypted_regex" => Selection::UnencryptedRegex(value),
            "encrypted_regex" => Selection::EncryptedRegex(value),
            "unencrypted_comment_regex" => Selection::UnencryptedCommentRegex(value),
            "encrypted_comment_regex" => Selection::EncryptedCommentRegex(value),
            _ => return None,
        })
    }
    /// The default when none is configured (SOPS.md §3.2).
    pub fn default_rule() -> Selection {
        Selection::UnencryptedSuffix("_unencrypted".into())
    }
}

/// One age master key as stored: the recipient and the armored wrapped key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgeKey {
    pub recipient: String,
    pub enc: String,
}

/// Key types other than age, in the order sops writes them inside a group / flat block.
pub const OTHER_KEY_TYPES: [&str; 6] = ["pgp", "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault"];

/// A key group: age keys plus any other master keys kept verbatim.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyGroup {
    pub age: Vec<AgeKey>,
    /// (type, entries) for pgp/kms/…, as read.
    pub others: Vec<(String, Vec<Node>)>,
}

impl KeyGroup {
    pub fn other_key_count(&self) -> usize {
        self.others.iter().map(|(_, v)| v.len()).sum()
    }
    pub fn other_types(&self) -> Vec<&str> {
        self.others
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(t, _)| t.as_str())
            .collect()
    }
    fn others_of(&self, ty: &str) -> &[Node] {
        self.others
            .iter()
            .find(|(t, _)| t == ty)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    pub shamir_threshold: usize,
    pub key_groups: Vec<KeyGroup>,
    /// As stored in the file (the MAC's AAD is its canonical form, SOPS.md §5.2).
    pub last_modified: String,
    /// The encrypted MAC (`ENC[...]`), or empty.
    pub mac: String,
    pub selection: Option<Selection>,
    pub mac_only_encrypted: bool,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("sops metadata not found")]
    NotFound,
    #[error("invalid sops metadata: {0}")]
    Invalid(String),
    #[error("No keys found in file")]
    NoKeys,
    #[error("Cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file")]
    TwoSelections,
}

fn s(v: &str) -> Node {
    Node::str(v)
}

fn age_list(keys: &[AgeKey], null_when_empty: bool) -> Node {
    if keys.is_empty() && null_when_empty {
        return Node::Null;
    }
    Node::Sequence(
        keys.iter()
            .map(|k| {
                let mut m = Mapping::new();
                m.push("recipient", s(&k.recipient));
                m.push("enc", s(&k.enc));
                Item::Node(Node::Mapping(m))
            })
            .collect(),
    )
}

impl Metadata {
    /// The metadata as the mapping sops writes, fields in sops's order (SOPS.md §7.1).
    /// `json` selects JSON's `null` over YAML's `[]` for a group's empty `hc_vault`/`age`.
    pub fn to_node(&self, json: bool) -> Node {
        let mut m = Mapping::new();
        if self.shamir_threshold != 0 {
            m.push(
                "shamir_threshold",
                Node::Scalar(Scalar::Int(self.shamir_threshold as i64)),
            );
        }
        let flat = self.key_groups.len() <= 1;
        let empty = KeyGroup::default();
        let g0 = self.key_groups.first().unwrap_or(&empty);
        if !flat {
            let groups = self
                .key_groups
                .iter()
                .map(|g| {
                    let mut gm = Mapping::new();
                    for ty in ["pgp", "kms", "gcp_kms", "hckms", "azure_kv"] {
                        let v = g.others_of(ty);
                        if !v.is_empty() {
                            gm.push(ty, seq(v));
                        }
                    }
                    let hv = g.others_of("hc_vault");
                    gm.push(
                        "hc_vault",
                        if hv.is_empty() && json {
                            Node::Null
                        } else {
                            seq(hv)
                        },
                    );
                    gm.push("age", age_list(&g.age, json));
                    Item::Node(Node::Mapping(gm))
                })
                .collect();
            m.push("key_groups", Node::Sequence(groups));
        } else {
            for ty in ["kms", "gcp_kms", "hckms", "azure_kv", "hc_vault"] {
                let v = g0.others_of(ty);
                if !v.is_empty() {
                    m.push(ty, seq(v));
                }
            }
            if !g0.age.is_empty() {
                m.push("age", age_list(&g0.age, false));
            }
        }
        m.push("lastmodified", s(&self.last_modified));
        m.push("mac", s(&self.mac));
        if flat {
            let v = g0.others_of("pgp");
            if !v.is_empty() {
                m.push("pgp", seq(v));
            }
        }
        if let Some(sel) = &self.selection {
            m.push(sel.field(), s(sel.value()));
        }
        if self.mac_only_encrypted {
            m.push("mac_only_encrypted", Node::Scalar(Scalar::Bool(true)));
        }
        m.push("version", s(&self.version));
        Node::Mapping(m)
    }

    /// Reads the metadata mapping (SOPS.md §7.1): flat key lists take precedence over `key_groups`.
    pub fn from_node(node: &Node) -> Result<Metadata, MetadataError> {
        let m = node
            .as_mapping()
            .ok_or_else(|| MetadataError::Invalid("the sops entry is not a mapping".into()))?;
        let text = |key: &str| -> Option<String> {
            match m.get(key)? {
                Node::Scalar(Scalar::Str(b)) => b.as_str().map(str::to_string),
                Node::Scalar(Scalar::Time(t)) => Some(t.clone()),
                Node::Scalar(Scalar::Int(i)) => Some(i.to_string()),
                Node::Scalar(Scalar::Float(f)) => Some(f.to_string()),
                Node::Scalar(Scalar::Bool(b)) => Some(b.to_string()),
                _ => None,
            }
        };
        let last_modified = text("lastmodified")
            .ok_or_else(|| MetadataError::Invalid("lastmodified is missing".into()))?;
        if crate::sops::cipher::rfc3339_seconds(&last_modified).is_none() {
            return Err(MetadataError::Invalid(
                "lastmodified is not an RFC 3339 timestamp".into(),
            ));
        }
        let mut selection = None;
        for f in Selection::FIELDS {
            if let Some(v) = text(f) {
                if selection.is_some() {
                    return Err(MetadataError::TwoSelections);
                }
                selection = Selection::from_field(f, v);
            }
        }
        let shamir_threshold = match m.get("shamir_threshold") {
            Some(Node::Scalar(Scalar::Int(i))) if *i >= 0 => *i as usize,
            Some(Node::Scalar(Scalar::Float(f))) if *f >= 0.0 => *f as usize,
            Some(Node::Scalar(Scalar::Str(b))) => b
                .as_str()
                .and_then(|t| t.parse::<f64>().ok())
                .map(|f| f as usize)
                .ok_or_else(|| MetadataError::Invalid("shamir_threshold is not a number".into()))?,
            Some(Node::Null) | None => 0,
            Some(_) => {
                return Err(MetadataError::Invalid(
                    "shamir_threshold is not a number".into(),
                ))
            }
        };
        let mac_only_encrypted = match m.get("mac_only_encrypted") {
            Some(Node::Scalar(Scalar::Bool(b))) => *b,
            Some(Node::Scalar(Scalar::Str(b))) => b.as_str() == Some("true"),
            _ => false,
        };
        let flat = read_group(m)?;
        let key_groups = if flat.age.is_empty() && flat.other_key_count() == 0 {
            match m.get("key_groups") {
                Some(Node::Sequence(items)) => items
                    .iter()
                    .filter_map(|i| match i {
                        Item::Node(Node::Mapping(g)) => Some(read_group(g)),
                        _ => None,
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => vec![],
            }
        } else {
            vec![flat]
        };
        if key_groups
            .iter()
            .all(|g| g.age.is_empty() && g.other_key_count() == 0)
        {
            return Err(MetadataError::NoKeys);
        }
        Ok(Metadata {
            shamir_threshold,
            key_groups,
            last_modified,
            mac: text("mac").unwrap_or_default(),
            selection,
            mac_only_encrypted,
            version: text("version").unwrap_or_default(),
        })
    }

    /// Every age recipient, across groups, in order.
    pub fn recipients(&self) -> Vec<&str> {
        self.key_groups
            .iter()
            .flat_map(|g| g.age.iter().map(|k| k.recipient.as_str()))
            .collect()
    }
}

fn seq(v: &[Node]) -> Node {
    Node::Sequence(v.iter().cloned().map(Item::Node).collect())
}

fn read_group(m: &Mapping) -> Result<KeyGroup, MetadataError> {
    let mut g = KeyGroup::default();
    if let Some(Node::Sequence(items)) = m.get("age") {
        for it in items {
            let Item::Node(Node::Mapping(k)) = it else {
                continue;
            };
            let get = |f: &str| k.get(f).and_then(Node::as_str).map(str::to_string);
            let recipient = get("recipient")
                .ok_or_else(|| MetadataError::Invalid("an age key has no recipient".into()))?;
            g.age.push(AgeKey {
                recipient: recipient.trim().to_string(),
                enc: get("enc").unwrap_or_default(),
            });
        }
    }
    for ty in OTHER_KEY_TYPES {
        if let Some(Node::Sequence(items)) = m.get(ty) {
            let nodes: Vec<Node> = items
                .iter()
                .filter_map(|i| match i {
                    Item::Node(n) => Some(n.clone()),
                    Item::Comment(_) => None,
                })
                .collect();
            if !nodes.is_empty() {
                g.others.push((ty.to_string(), nodes));
            }
        }
    }
    Ok(g)
}

/// The key under which each store keeps metadata in the tree's document mappings.
pub const SOPS_KEY: &str = "sops";

/// Removes the metadata from a parsed encrypted tree and decodes it (SOPS.md §7.2–7.6).
/// YAML: only the first document's block is read; every document's block is removed.
pub fn take(format: Format, tree: &mut Tree) -> Result<Metadata, MetadataError> {
    match format {
        Format::Yaml | Format::Json | Format::Binary => {
            let mut first = None;
            for doc in tree.documents.iter_mut() {
                let node = doc.remove(SOPS_KEY);
                if first.is_none() {
                    first = node;
                }
            }
            Metadata::from_node(&first.ok_or(MetadataError::NotFound)?)
        }
        Format::Dotenv => {
            let doc = tree.documents.first_mut().ok_or(MetadataError::NotFound)?;
            let mut flat = Vec::new();
            doc.entries.retain(|e| match e {
                Entry::Pair(k, v) if k.starts_with("sops_") => {
                    flat.push((
                        k["sops_".len()..].to_string(),
                        v.as_str().unwrap_or("").to_string(),
                    ));
                    false
                }
                _ => true,
            });
            if flat.is_empty() {
                return Err(MetadataError::NotFound);
            }
            Metadata::from_node(&unflatten(&flat)?)
        }
        Format::Ini => {
            let doc = tree.documents.first_mut().ok_or(MetadataError::NotFound)?;
            let section = doc.remove(SOPS_KEY).ok_or(MetadataError::NotFound)?;
            let flat: Vec<(String, String)> = section
                .as_mapping()
                .map(|m| {
                    m.pairs()
                        // INI values carry newlines as the two characters `\n` (SOPS.md §7.5);
                        // unlike dotenv, the INI store itself does not unescape them.
                        .map(|(k, v)| {
                            (k.to_string(), v.as_str().unwrap_or("").replace("\\n", "\n"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Metadata::from_node(&unflatten(&flat)?)
        }
    }
}

/// Whether a parsed tree carries sops metadata (for `filestatus` and the "already encrypted"
/// refusal, SOPS.md §10): a top-level `sops` key in the first document, or any `sops_` key in dotenv.
pub fn has_metadata(format: Format, tree: &Tree) -> bool {
    let Some(doc) = tree.documents.first() else {
        return false;
    };
    match format {
        Format::Dotenv => doc.pairs().any(|(k, _)| k.starts_with("sops_")),
        _ => doc.get(SOPS_KEY).is_some(),
    }
}

/// Adds the metadata to an encrypted tree the way `format`'s store lays it out.
pub fn attach(format: Format, tree: &mut Tree, meta: &Metadata) {
    match format {
        Format::Yaml => {
            let node = meta.to_node(false);
            for doc in tree.documents.iter_mut() {
                doc.push(SOPS_KEY, node.clone());
            }
        }
        Format::Json | Format::Binary => {
            let node = meta.to_node(true);
            if let Some(doc) = tree.documents.first_mut() {
                doc.push(SOPS_KEY, node);
            }
        }
        Format::Dotenv => {
            let mut flat = flatten(&meta.to_node(false));
            for (k, _) in flat.iter_mut() {
                k.insert_str(0, "sops_");
            }
            // sops sorts the flattened lines by key, byte order (SOPS.md §7.4).
            flat.sort_by(|a, b| a.0.cmp(&b.0));
            if let Some(doc) = tree.documents.first_mut() {
                for (k, v) in flat {
                    doc.push(k, Node::str(&v));
                }
            }
        }
        Format::Ini => {
            // sops's order inside [sops] is random (Go map iteration); ours is sorted, so output
            // is at least stable (SOPS.md §7.5).
            let mut flat = flatten(&meta.to_node(false));
            flat.sort_by(|a, b| a.0.cmp(&b.0));
            let mut sec = Mapping::new();
            for (k, v) in flat {
                sec.push(k, Node::str(&v.replace('\n', "\\n")));
            }
            if let Some(doc) = tree.documents.first_mut() {
                doc.push(SOPS_KEY, Node::Mapping(sec));
            }
        }
    }
}

/// Flattens the metadata mapping into `key__map_x__list_0…` pairs (SOPS.md §7.4). Nulls and empty
/// lists are omitted; newlines stay real newlines here (the dotenv/INI stores escape them as `\n`).
pub fn flatten(node: &Node) -> Vec<(String, String)> {
    fn walk(prefix: &str, n: &Node, out: &mut Vec<(String, String)>) {
        match n {
            Node::Null => {}
            Node::Scalar(sc) => {
                let v = match sc {
                    Scalar::Str(b) => String::from_utf8_lossy(b.expose()).into_owned(),
                    Scalar::Int(i) => i.to_string(),
                    Scalar::Float(f) => crate::sops::cipher::go_float_plain(*f),
                    Scalar::Bool(b) => b.to_string(),
                    Scalar::Time(t) => t.clone(),
                };
                out.push((prefix.to_string(), v));
            }
            Node::Mapping(m) => {
                for (k, v) in m.pairs() {
                    let key = if prefix.is_empty() {
                        k.to_string()
                    } else {
                        format!("{prefix}__map_{k}")
                    };
                    walk(&key, v, out);
                }
            }
            Node::Sequence(items) => {
                for (i, it) in items.iter().enumerate() {
                    if let Item::Node(n) = it {
                        walk(&format!("{prefix}__list_{i}"), n, out);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", node, &mut out);
    out
}

/// Rebuilds the metadata mapping from flattened pairs.
pub fn unflatten(pairs: &[(String, String)]) -> Result<Node, MetadataError> {
    enum Step {
        Map(String),
        List(usize),
    }
    fn insert(node: &mut Node, steps: &[Step], value: &str) -> Result<(), MetadataError> {
        let Some((first, rest)) = steps.split_first() else {
            *node = Node::str(value);
            return Ok(());
        };
        match first {
            Step::Map(k) => {
                if !matches!(node, Node::Mapping(_)) {
                    *node = Node::Mapping(Mapping::new());
                }
                let Node::Mapping(m) = node else {
                    unreachable!()
                };
                if m.get(k).is_none() {
                    m.push(k.clone(), Node::Null);
                }
                insert(m.get_mut(k).expect("just inserted"), rest, value)
            }
            Step::List(i) => {
                if !matches!(node, Node::Sequence(_)) {
                    *node = Node::Sequence(Vec::new());
                }
                let Node::Sequence(items) = node else {
                    unreachable!()
                };
                if *i > 10_000 {
                    return Err(MetadataError::Invalid("list index too large".into()));
                }
                while items.len() <= *i {
                    items.push(Item::Node(Node::Null));
                }
                let Item::Node(n) = &mut items[*i] else {
                    unreachable!()
                };
                insert(n, rest, value)
            }
        }
    }
    fn next_marker(s: &str) -> usize {
        [s.find("__map_"), s.find("__list_")]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(s.len())
    }
    let mut root = Node::Mapping(Mapping::new());
    for (key, value) in pairs {
        let bad = || MetadataError::Invalid(format!("bad metadata key {key}"));
        let p = next_marker(key);
        let mut steps = vec![Step::Map(key[..p].to_string())];
        let mut rest = &key[p..];
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("__map_") {
                let p = next_marker(r);
                steps.push(Step::Map(r[..p].to_string()));
                rest = &r[p..];
            } else if let Some(r) = rest.strip_prefix("__list_") {
                let p = next_marker(r);
                steps.push(Step::List(r[..p].parse().map_err(|_| bad())?));
                rest = &r[p..];
            } else {
                return Err(bad());
            }
        }
        // Values in flat stores are strings; restore the typed fields sops reads as numbers/bools.
        insert(&mut root, &steps, value)?;
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(groups: usize) -> Metadata {
        let g = |r: &str| KeyGroup {
            age: vec![AgeKey {
                recipient: r.into(),
                enc: "-----BEGIN AGE ENCRYPTED FILE-----\nabc\n-----END AGE ENCRYPTED FILE-----\n"
                    .into(),
            }],
            others: vec![],
        };
        Metadata {
            shamir_threshold: if groups > 1 { 2 } else { 0 },
            key_groups: (0..groups).map(|i| g(&format!("age1r{i}"))).collect(),
            last_modified: "2026-11-24T18:02:09Z".into(),
            mac: "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]".into(),
            selection: Some(Selection::default_rule()),
            mac_only_encrypted: false,
            version: SOPS_VERSION.into(),
        }
    }

    #[test]
    fn flatten_roundtrip() {
        for groups in [1, 3] {
            let m = sample(groups);
            let flat = flatten(&m.to_node(false));
            if groups == 1 {
                assert!(flat.iter().any(|(k, _)| k == "age__list_0__map_enc"));
            } else {
                assert!(flat
                    .iter()
                    .any(|(k, _)| k == "key_groups__list_1__map_age__list_0__map_enc"));
            }
            let back = Metadata::from_node(&unflatten(&flat).unwrap()).unwrap();
            assert_eq!(back, m);
        }
    }

    #[test]
    fn field_order_is_sops_order() {
        let n = sample(1).to_node(false);
        let keys: Vec<&str> = n.as_mapping().unwrap().pairs().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "age",
                "lastmodified",
                "mac",
                "unencrypted_suffix",
                "version"
            ]
        );
        let n = sample(2).to_node(false);
        let keys: Vec<&str> = n.as_mapping().unwrap().pairs().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "shamir_threshold",
                "key_groups",
                "lastmodified",
                "mac",
                "unencrypted_suffix",
                "version"
            ]
        );
    }
}
