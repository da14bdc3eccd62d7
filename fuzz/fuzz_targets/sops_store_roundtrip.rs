//! Every sops store (YAML, JSON, dotenv, INI, binary) on arbitrary bytes: parsing must never panic,
//! and whatever parses must survive emit → parse unchanged (SOPS.md §8: the stores are how a file's
//! bytes become the tree the MAC covers, so a lossy round trip would re-encrypt something else).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/yaml_guard.rs"]
mod yaml_guard;
use overworld_secrets::sops::format::{self, EmitOptions, Format};
use overworld_secrets::sops::tree::{Entry, Item, Mapping, Node, Scalar, Tree};
use yaml_guard::let_yaml_guard_catch;

const FORMATS: [Format; 5] = [
    Format::Yaml,
    Format::Json,
    Format::Dotenv,
    Format::Ini,
    Format::Binary,
];

fuzz_target!(init: let_yaml_guard_catch(), |data: &[u8]| {
    // The first byte picks the store so one corpus exercises all five.
    let Some((&sel, input)) = data.split_first() else {
        return;
    };
    let fmt = FORMATS[sel as usize % FORMATS.len()];
    let Ok(tree) = format::parse(fmt, input) else {
        return;
    };
    let opts = EmitOptions::default();
    // Emitting may refuse a tree the store cannot represent (e.g. nesting in dotenv), never panic.
    let Ok(out) = format::emit(fmt, &tree, &opts) else {
        return;
    };
    let again = match format::parse(fmt, &out) {
        Ok(t) => t,
        // go-yaml v3 (and so sops 3.11) writes a block scalar with a leading space inside a
        // nested sequence as `- |4-` with too little indentation, which no YAML parser reads
        // back; we reproduce its bytes on purpose (tests/hardening.rs pins this against the
        // real sops). Everything else we write must parse.
        Err(_) if fmt == Format::Yaml && has_explicit_indent(&out) => return,
        // go-ini writes values with quotes and NULs/newlines that it cannot read back (e.g. a
        // `"""` it opened as a multi-line key); sops 3.11.0 fails the same way on its own output
        // and we copy its bytes. Checked against the real sops for the fuzz finding.
        Err(_) if fmt == Format::Ini => return,
        Err(e) => panic!("our own {} output does not parse: {e:?}", fmt.name()),
    };
    // Once we have written a tree, its data must survive another write and read exactly.
    let out2 = format::emit(fmt, &again, &opts).expect("a re-parsed tree must emit");
    let third = match format::parse(fmt, &out2) {
        Ok(t) => t,
        // Same go-ini limitation one pass later (sops 3.11.0 fails on the same bytes).
        Err(_) if fmt == Format::Ini => return,
        Err(e) => panic!("our second {} output does not parse: {e:?}", fmt.name()),
    };
    // go-ini does not round-trip its own output (quotes, `\`, NULs and `;`/`#` in values are
    // re-read differently every pass); sops 3.11.0 shows the same changing bytes as we do, so
    // INI is held only to "parses without panicking" past the first pass.
    assert!(
        fmt == Format::Ini || same_data(&again, &third),
        "data changed on a second round trip for {}",
        fmt.name()
    );
    // The bytes must settle too, except where sops's own writer keeps changing them: go-ini
    // re-reads `#`/`;` inside a comment as a new comment marker, so INI comments shrink on every
    // pass in the real sops as well (checked against sops 3.11.0; we copy its bytes).
    if fmt != Format::Ini {
        let out3 = format::emit(fmt, &third, &opts).expect("a re-parsed tree must emit");
        assert!(out2 == out3, "emit → parse → emit does not settle for {}", fmt.name());
    }
});

/// A block scalar header with an explicit indentation indicator (`|4`, `>2-`, …).
fn has_explicit_indent(out: &[u8]) -> bool {
    out.windows(2)
        .any(|w| (w[0] == b'|' || w[0] == b'>') && w[1].is_ascii_digit())
}

/// Tree equality ignoring comments, with floats compared by bits (NaN is a value here).
fn same_data(a: &Tree, b: &Tree) -> bool {
    a.documents.len() == b.documents.len()
        && a.documents
            .iter()
            .zip(&b.documents)
            .all(|(x, y)| same_map(x, y))
}

fn same_map(a: &Mapping, b: &Mapping) -> bool {
    let pairs = |m: &Mapping| -> Vec<(String, Node)> {
        m.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Pair(k, v) => Some((k.clone(), v.clone())),
                Entry::Comment(_) => None,
            })
            .collect()
    };
    let (pa, pb) = (pairs(a), pairs(b));
    pa.len() == pb.len()
        && pa
            .iter()
            .zip(&pb)
            .all(|((ka, va), (kb, vb))| ka == kb && same_node(va, vb))
}

fn same_node(a: &Node, b: &Node) -> bool {
    match (a, b) {
        (Node::Null, Node::Null) => true,
        (Node::Scalar(Scalar::Float(x)), Node::Scalar(Scalar::Float(y))) => {
            x.to_bits() == y.to_bits()
        }
        (Node::Scalar(x), Node::Scalar(y)) => x == y,
        (Node::Mapping(x), Node::Mapping(y)) => same_map(x, y),
        (Node::Sequence(x), Node::Sequence(y)) => {
            let nodes = |v: &[Item]| -> Vec<Node> {
                v.iter()
                    .filter_map(|i| match i {
                        Item::Node(n) => Some(n.clone()),
                        Item::Comment(_) => None,
                    })
                    .collect()
            };
            let (nx, ny) = (nodes(x), nodes(y));
            nx.len() == ny.len() && nx.iter().zip(&ny).all(|(p, q)| same_node(p, q))
        }
        _ => false,
    }
}
