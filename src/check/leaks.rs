//! Leak scanning: private key material and plaintext Secret manifests committed outside the
//! places that may hold TEST-ONLY material. Findings give file and line, never the matched text.

use super::Finding;
use regex::Regex;
use std::path::Path;
use std::sync::OnceLock;

/// Where TEST-ONLY material may live: any path component containing `TEST-ONLY`, and test,
/// fuzz and benchmark trees (plus what the user allows).
pub fn allowed(path: &Path, extra: &[String]) -> bool {
    let s = path.to_string_lossy();
    if path
        .components()
        .any(|c| c.as_os_str().to_string_lossy().contains("TEST-ONLY"))
    {
        return true;
    }
    ["tests/", "fuzz/", "bench/", "benches/"]
        .iter()
        .map(|p| p.to_string())
        .chain(extra.iter().cloned())
        .any(|prefix| s.starts_with(prefix.trim_start_matches("./")))
}

fn age_key_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]{50,}").expect("static"))
}

fn pem_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----")
            .expect("static")
    })
}

fn base64_line(l: &str) -> bool {
    let t = l.trim();
    t.len() >= 40
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

/// Scans one text file for private keys.
pub fn scan_keys(rel: &Path, text: &str, out: &mut Vec<Finding>) {
    // One search of the whole text per pattern, lines counted only at a match: two regex calls
    // per line cost more than the searches (callgrind of a bulk `check`, issue 9).
    let line_of = |pos: usize| {
        text.as_bytes()[..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    };
    // (line index, kind), one finding per line and kind, in line order.
    let mut hits = std::collections::BTreeSet::new();
    for m in age_key_re().find_iter(text) {
        hits.insert((line_of(m.start()), 0));
    }
    for m in pem_re().find_iter(text) {
        let i = line_of(m.start());
        // A PEM header only counts when key material follows (docs may mention the header).
        if text.lines().nth(i + 1).is_some_and(base64_line) {
            hits.insert((i, 1));
        }
    }
    for (i, kind) in hits {
        out.push(if kind == 0 {
            Finding::error(
                rel,
                "leak.age-key",
                "an age secret key (AGE-SECRET-KEY-1…) is committed; remove it, rotate it (new identity, `updatekeys`), and keep identities outside the repository",
            )
            .at(i + 1)
        } else {
            Finding::error(
                rel,
                "leak.private-key",
                "a PEM private key is committed; remove it and rotate the key (store it SOPS-encrypted if it must live in git)",
            )
            .at(i + 1)
        });
    }
}

/// Finds plaintext `kind: Secret` documents with data in a YAML/JSON file that is not SOPS-encrypted.
pub fn scan_plain_secrets(rel: &Path, text: &str, out: &mut Vec<Finding>) {
    use serde::Deserialize;
    // Parsing every file a second time was a sixth of a bulk `check` (callgrind, issue 9). Skip
    // the parse when the answer is known: no document can be `kind: Secret` without the word,
    // and a single-document YAML file with a top-level `sops:` key is skipped below anyway.
    if memchr::memmem::find(text.as_bytes(), b"Secret").is_none() || is_single_sops_document(text) {
        return;
    }
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let Ok(v) = serde_yaml_ng::Value::deserialize(doc) else {
            return; // Not YAML: nothing to say here (SOPS checks report invalid SOPS files).
        };
        let Some(m) = v.as_mapping() else { continue };
        if m.get("sops").is_some() {
            continue;
        }
        if m.get("kind").and_then(|k| k.as_str()) != Some("Secret") {
            continue;
        }
        let has_data = ["data", "stringData"].iter().any(|k| {
            m.get(*k)
                .and_then(|d| d.as_mapping())
                .is_some_and(|d| !d.is_empty())
        });
        if !has_data {
            continue;
        }
        let name = m
            .get("metadata")
            .and_then(|md| md.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or("?");
        let line = text
            .lines()
            .position(|l| l.trim_start() == "kind: Secret" || l.contains("\"kind\": \"Secret\""))
            .map(|i| i + 1);
        let mut f = Finding::error(
            rel,
            "leak.plaintext-secret",
            format!("plaintext Secret {name:?} with data is committed: move it under the cluster's sources and encrypt it (`overworld-secrets encrypt -i FILE`), or use `overworld-secrets adopt`"),
        );
        f.line = line;
        out.push(f);
    }
}

/// One block-style YAML document whose root mapping has a `sops` key: no `---`/`...` markers or
/// directives, and a `sops:` line at column 0 (only a root key can start there in one document).
fn is_single_sops_document(text: &str) -> bool {
    let mut sops = false;
    // Only each line's first bytes matter: jump from line start to line start.
    let mut rest = text.as_bytes();
    loop {
        if rest.starts_with(b"---") || rest.starts_with(b"...") || rest.first() == Some(&b'%') {
            return false;
        }
        let end = memchr::memchr(b'\n', rest);
        if let Some(r) = rest.strip_prefix(b"sops:") {
            let line = &r[..end.map_or(r.len(), |e| e - b"sops:".len())];
            // The line is UTF-8 (a slice of `text` between ASCII bytes); trim as `str` does.
            sops |= std::str::from_utf8(line).is_ok_and(|l| l.trim().is_empty());
        }
        match end {
            Some(e) => rest = &rest[e + 1..],
            None => return sops,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_and_names_no_content() {
        let mut out = Vec::new();
        let key = format!("AGE-SECRET-KEY-1{}", "Q".repeat(58));
        scan_keys(Path::new("a.txt"), &format!("x\n{key}\n"), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].line, Some(2));
        assert!(!out[0].message.contains(&key));
        let mut out = Vec::new();
        scan_keys(
            Path::new("doc.md"),
            "the header -----BEGIN RSA PRIVATE KEY----- starts a key\n",
            &mut out,
        );
        assert!(
            out.is_empty(),
            "a mention without key material is not a leak"
        );
        // Lines counted as `str::lines` counts them (CRLF too); one finding per line and kind,
        // in line order.
        let pem = format!(
            "intro\r\n-----BEGIN PRIVATE KEY-----\r\n{}\r\n-----END PRIVATE KEY-----\r\n{key} {key}\r\n",
            "A".repeat(64)
        );
        let mut out = Vec::new();
        scan_keys(Path::new("k.pem"), &pem, &mut out);
        let got: Vec<(&str, Option<usize>)> = out.iter().map(|f| (f.code, f.line)).collect();
        assert_eq!(
            got,
            [("leak.private-key", Some(2)), ("leak.age-key", Some(5))]
        );
    }

    #[test]
    fn single_sops_document_by_line_starts() {
        let yes = [
            "kind: Secret\ndata:\n  a: ENC[x]\nsops:\n  mac: y\n",
            "kind: Secret\r\nsops:\r\n  mac: y\r\n",
            "sops:   \n  mac: y",
            "sops:",
        ];
        let no = [
            "kind: Secret\n---\nsops:\n  mac: y\n",
            "%YAML 1.2\nsops:\n  mac: y\n",
            "kind: Secret\nsops: plain\n",
            "kind: Secret\n  sops:\n",
            "kind: Secret\n...\nsops:\n",
            "",
            "kind: Secret\n",
        ];
        for t in yes {
            assert!(is_single_sops_document(t), "{t:?}");
        }
        for t in no {
            assert!(!is_single_sops_document(t), "{t:?}");
        }
    }

    #[test]
    fn plaintext_secret_detected_but_not_sops_files() {
        let mut out = Vec::new();
        scan_plain_secrets(
            Path::new("s.yaml"),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  a: b\n",
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].line, Some(2));
        let mut out = Vec::new();
        scan_plain_secrets(
            Path::new("s.yaml"),
            "kind: Secret\ndata:\n  a: ENC[x]\nsops:\n  mac: y\n",
            &mut out,
        );
        assert!(out.is_empty());
        // The fast skip must not hide a plaintext Secret in a second document.
        let mut out = Vec::new();
        scan_plain_secrets(
            Path::new("s.yaml"),
            "kind: Secret\ndata:\n  a: ENC[x]\nsops:\n  mac: y\n---\nkind: Secret\nstringData:\n  p: q\n",
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert!(allowed(Path::new("keys/demo/TEST-ONLY-age.agekey"), &[]));
        assert!(!allowed(Path::new("keys/prod.agekey"), &[]));
    }
}
