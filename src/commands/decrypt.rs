//! `decrypt`: recover the data key, decrypt every value, verify the MAC, print the plaintext
//! (SOPS.md §10, `sops decrypt`). Plaintext goes only to stdout or the file the user named.

use super::{formats, read_input, write_output, Ctx};
use crate::cli::DecryptArgs;
use crate::error::{Error, Result};
use crate::sops::engine;
use crate::sops::format::{self, Format};
use crate::sops::path;
use crate::sops::tree::{Mapping, Node, Scalar, Tree};
use crate::sops::SopsError;

pub fn run(ctx: &Ctx, a: DecryptArgs) -> Result<()> {
    if a.in_place && a.output.is_some() {
        return Err(Error::sops(
            a.file.clone().unwrap_or_default(),
            SopsError::Conflict("Error: cannot operate on both --output and --in-place".into()),
        ));
    }
    if a.in_place && a.file.as_deref().is_none_or(|f| f.as_os_str() == "-") {
        return Err(Error::Usage("--in-place needs a file, not stdin".into()));
    }
    let input = read_input(a.file.as_deref(), &a.store)?;
    let name = input.name.clone();
    let fail = |e: SopsError| Error::sops(&name, e);
    let (in_fmt, out_fmt) = formats(&name, &a.store)?;
    let steps = match &a.extract {
        Some(p) => {
            if in_fmt == Format::Binary {
                return Err(fail(SopsError::ExtractSyntax(
                    "Binary files are not structured and extracting a single value is not possible"
                        .into(),
                )));
            }
            Some(path::parse(p).map_err(|e| fail(SopsError::ExtractSyntax(e)))?)
        }
        None => None,
    };
    let opts = ctx.emit_options()?;
    let file = engine::load(in_fmt, &input.bytes).map_err(fail)?;
    let ids = super::load_identities(ctx).map_err(|e| fail(SopsError::Keys(e)))?;
    for n in ids.notes() {
        ctx.printer.detail(n);
    }
    let dec = engine::decrypt(&file, &ids, a.ignore_mac).map_err(fail)?;
    for w in &dec.warnings {
        ctx.printer.warn(w);
    }
    let bytes = match steps {
        None => emit_tree(&dec.tree, in_fmt, out_fmt, &opts).map_err(fail)?,
        Some(steps) => {
            let node =
                path::get(&dec.tree, &steps).map_err(|e| fail(SopsError::ExtractMissing(e)))?;
            emit_extract(node, out_fmt, &opts).map_err(fail)?
        }
    };
    write_output(
        &bytes,
        a.output.as_deref(),
        if a.in_place {
            input.file.as_deref()
        } else {
            None
        },
        true,
    )
}

fn emit_tree(
    tree: &Tree,
    in_fmt: Format,
    out_fmt: Format,
    opts: &format::EmitOptions,
) -> std::result::Result<Vec<u8>, SopsError> {
    // A binary file decrypts to its raw bytes unless another output store was asked for.
    let f = if in_fmt == Format::Binary && out_fmt == Format::Binary {
        Format::Binary
    } else {
        out_fmt
    };
    engine::emit_plain(tree, f, opts)
}

/// `--extract`: a string leaf is printed raw with no newline; other scalars in the output store's
/// encoding; a subtree as a whole document (SOPS.md §10).
fn emit_extract(
    node: &Node,
    out_fmt: Format,
    opts: &format::EmitOptions,
) -> std::result::Result<Vec<u8>, SopsError> {
    match node {
        Node::Scalar(Scalar::Str(s)) => Ok(s.expose().to_vec()),
        Node::Mapping(m) => engine::emit_plain(
            &Tree {
                documents: vec![m.clone()],
            },
            out_fmt,
            opts,
        ),
        Node::Scalar(sc) => match out_fmt {
            Format::Json => format::json::try_emit_scalar(sc).map_err(SopsError::from),
            _ => Ok(format::yaml::emit_scalar(sc)),
        },
        Node::Null => Ok(match out_fmt {
            Format::Json => b"null".to_vec(),
            _ => b"null\n".to_vec(),
        }),
        Node::Sequence(_) => {
            // A list is not a document in any store: emit it as the value of a one-key mapping
            // and lift it out by one level, which is how it reads as a top-level sequence.
            let mut m = Mapping::new();
            m.push("v", node.clone());
            let out = engine::emit_plain(&Tree { documents: vec![m] }, out_fmt, opts)?;
            let text = String::from_utf8_lossy(&out).into_owned();
            let lifted = match out_fmt {
                Format::Json => {
                    let step = match opts.json_indent {
                        None => "\t".to_string(),
                        Some(n) => " ".repeat(n),
                    };
                    let inner: Vec<&str> = text.lines().collect();
                    let body = &inner[1..inner.len().saturating_sub(1)];
                    let mut s = String::new();
                    for (i, l) in body.iter().enumerate() {
                        let l = l.strip_prefix(step.as_str()).unwrap_or(l);
                        let l = if i == 0 {
                            l.trim_start_matches("\"v\": ")
                        } else {
                            l
                        };
                        s.push_str(l);
                        s.push('\n');
                    }
                    s
                }
                _ => String::from_utf8_lossy(&format::yaml::emit_node(node, opts)).into_owned(),
            };
            Ok(lifted.into_bytes())
        }
    }
}
