//! The binary store (SOPS.md §8.6): any file that is not YAML, JSON, dotenv or INI.
//!
//! Plaintext is the whole file as one string under `data` (AAD `data:`); writing plaintext back
//! is the raw bytes of that value, nothing added. The *encrypted* form is a JSON document and is
//! read and written by the JSON store (SOPS.md §7.6), not here. This module never inspects,
//! transcodes or trims the bytes, and never puts them in an error.

use super::FormatError;
use crate::secret::SecretBytes;
use crate::sops::tree::{Entry, Mapping, Node, Scalar, Tree};

/// The whole input as `{data: <bytes>}`; empty input gives `data: ""` (SOPS.md §8.6).
pub fn parse(input: &[u8]) -> Result<Tree, FormatError> {
    let mut doc = Mapping::new();
    doc.push(
        "data",
        Node::Scalar(Scalar::Str(SecretBytes::new(input.to_vec()))),
    );
    Ok(Tree {
        documents: vec![doc],
    })
}

/// The raw bytes of the first `data` entry, as sops's `BinaryStore.EmitPlainFile` does: exactly
/// one document, and the first `data` key must hold a string.
pub fn emit(tree: &Tree) -> Result<Vec<u8>, FormatError> {
    const PREFIX: &str = "error emitting binary store";
    let [doc] = tree.documents.as_slice() else {
        return Err(FormatError::Emit(format!(
            "{PREFIX}: there must be exactly one tree branch"
        )));
    };
    for entry in &doc.entries {
        if let Entry::Pair(k, v) = entry {
            if k == "data" {
                return match v {
                    Node::Scalar(Scalar::Str(s)) => Ok(s.expose().to_vec()),
                    _ => Err(FormatError::Emit(format!(
                        "{PREFIX}: 'data' key in tree does not have a string value"
                    ))),
                };
            }
        }
    }
    Err(FormatError::Emit(format!(
        "{PREFIX}: no binary data found in tree"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_input_is_an_empty_data_string() {
        let t = parse(b"").unwrap();
        assert_eq!(t.documents[0].get("data").unwrap().as_str(), Some(""));
        assert_eq!(emit(&t).unwrap(), b"");
    }

    #[test]
    fn emit_needs_a_string_data_key() {
        let mut doc = Mapping::new();
        doc.push("other", Node::str("x"));
        let t = Tree {
            documents: vec![doc.clone()],
        };
        assert_eq!(
            emit(&t).unwrap_err().to_string(),
            "error emitting binary store: no binary data found in tree"
        );
        doc.push("data", Node::Scalar(Scalar::Int(1)));
        doc.push("data", Node::str("later"));
        let t = Tree {
            documents: vec![doc],
        };
        assert!(emit(&t)
            .unwrap_err()
            .to_string()
            .contains("does not have a string value"));
    }

    #[test]
    fn oracle_corpus() {
        super::super::json::corpus::check_store("binary", |input, _| emit(&parse(input)?));
    }

    #[test]
    fn fixture_binary_bytes() {
        let [input, expected, enc] = super::super::json::corpus::shared_case("binary-bytes");
        assert_eq!(emit(&parse(&input).unwrap()).unwrap(), expected);
        assert_eq!(emit(&parse(&expected).unwrap()).unwrap(), expected);
        // The encrypted form is JSON (SOPS.md §7.6): the JSON store must reproduce it.
        let tree = super::super::json::parse(&enc).unwrap();
        assert!(tree.documents[0]
            .get("data")
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("ENC["));
        let out = super::super::json::emit(&tree, &Default::default()).unwrap();
        assert_eq!(out, enc);
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let once = emit(&parse(&bytes).unwrap()).unwrap();
            prop_assert_eq!(&once, &bytes);
            prop_assert_eq!(emit(&parse(&once).unwrap()).unwrap(), once);
        }
    }
}
