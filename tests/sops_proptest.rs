//! Random trees (nested maps, lists, every scalar type, unicode, comments, multi-document) written
//! as YAML, encrypted by us and decrypted by the REAL sops: sops must print exactly the document we
//! emitted (our emitter reproduces sops's normalisation), and our decrypt must agree.

use crate::util::{identity_file, Scratch};
use overworld_secrets::secret::SecretBytes;
use overworld_secrets::sops::format::{yaml, EmitOptions};
use overworld_secrets::sops::tree::{Comment, Entry, Item, Mapping, Node, Scalar, Tree};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const RECIPIENT_A: &str = "age1ks8uufh9q0l3ae7vseg5pj3ns42kdfqd2jfz86sm8tp862wc5y8swyackd";

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        "\\PC{0,16}".prop_map(|s| Scalar::str(&s)),
        "[a-zA-Z0-9 :#_.-]{0,12}".prop_map(|s| Scalar::str(&s)),
        any::<i64>().prop_map(Scalar::Int),
        (-1.0e6f64..1.0e6).prop_map(Scalar::Float),
        any::<bool>().prop_map(Scalar::Bool),
    ]
}

fn comment() -> impl Strategy<Value = Comment> {
    " [a-zA-Z0-9 ]{0,16}".prop_map(|s| Comment(SecretBytes::from(s)))
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![Just(Node::Null), scalar().prop_map(Node::Scalar)];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(("[a-z][a-z0-9_]{0,7}", inner.clone()), 1..5).prop_map(|kv| {
                let mut m = Mapping::new();
                let mut seen = std::collections::BTreeSet::new();
                for (k, v) in kv {
                    if seen.insert(k.clone()) {
                        m.push(k, v);
                    }
                }
                Node::Mapping(m)
            }),
            prop::collection::vec(inner.prop_map(Item::Node), 1..5).prop_map(Node::Sequence),
        ]
    })
}

fn document() -> impl Strategy<Value = Mapping> {
    prop::collection::vec(
        prop_oneof![
            4 => ("[a-z][a-z0-9_]{0,7}", node()).prop_map(|(k, v)| Some((k, v))),
            1 => Just(None),
        ],
        1..6,
    )
    .prop_flat_map(|entries| (Just(entries), prop::collection::vec(comment(), 6)))
    .prop_map(|(entries, comments)| {
        let mut m = Mapping::new();
        let mut seen = std::collections::BTreeSet::new();
        for (i, e) in entries.into_iter().enumerate() {
            match e {
                Some((k, v)) => {
                    if seen.insert(k.clone()) {
                        m.push(k, v);
                    }
                }
                None => m.entries.push(Entry::Comment(comments[i].clone())),
            }
        }
        if m.pairs().next().is_none() {
            m.push("k", Node::str("v"));
        }
        m
    })
}

#[test]
fn our_encryption_of_random_trees_decrypts_with_real_sops() {
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let strategy = prop::collection::vec(document(), 1..3).prop_map(|documents| Tree { documents });
    runner
        .run(&strategy, |tree| {
            let s = Scratch::new();
            // Normalise once through our own store: what sops prints is the normal form.
            let plain = yaml::emit(&tree, &EmitOptions::default()).unwrap();
            let reparsed = yaml::parse(&plain).unwrap();
            let plain = yaml::emit(&reparsed, &EmitOptions::default()).unwrap();
            s.write("in.yaml", &plain);
            let enc = s
                .ours()
                .args(["encrypt", "--age", RECIPIENT_A, "in.yaml"])
                .ok();
            s.write("enc.yaml", &enc.stdout);
            let sops = s
                .sops()
                .age_key_file(&identity_file("a"))
                .args(["decrypt", "enc.yaml"])
                .ok();
            prop_assert_eq!(
                String::from_utf8_lossy(&sops.stdout),
                String::from_utf8_lossy(&plain)
            );
            let ours = s
                .ours()
                .age_key_file(&identity_file("a"))
                .args(["decrypt", "enc.yaml"])
                .ok();
            prop_assert_eq!(ours.stdout, plain);
            Ok(())
        })
        .unwrap();
}
