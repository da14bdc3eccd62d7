//! Small, verified text edits of the two YAML files a user owns: `.sops.yaml` (a creation rule is
//! inserted) and `overworld-secrets.yaml` (`sealed_paths:` entries are inserted). Text, not a
//! YAML round trip, because a round trip would drop the user's comments and anchors; every edit
//! is re-parsed by the real loaders and checked before it is used, and when the layout is too
//! unusual to edit safely the caller prints the lines for the user to add instead.

use std::collections::BTreeMap;
use std::path::Path;

/// A `.sops.yaml` creation rule in the Flux convention (HOMELAB-WORKFLOWS.md §1.4 #1: only
/// `data`/`stringData` encrypted so names stay reviewable), as list-item lines at `indent`.
pub fn flux_rule(path_regex: &str, recipients: &[String], indent: usize) -> String {
    let pad = " ".repeat(indent);
    format!(
        "{pad}- path_regex: {}\n{pad}  encrypted_regex: ^(data|stringData)$\n{pad}  age: {}\n",
        yaml_quote(path_regex),
        recipients.join(",")
    )
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
pub fn yaml_quote(s: &str) -> String {
    serde_json::to_string(s).expect("string serialises")
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Inserts `rule_lines` (built by [`flux_rule`] with the returned indent in mind) as the FIRST
/// creation rule, so it wins for the files it matches (first match wins, SOPS.md §9.3). Returns
/// `None` when `creation_rules` is written in a way this does not edit (flow style).
pub fn insert_first_rule(
    text: &str,
    comment: &str,
    rule: impl Fn(usize) -> String,
) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let Some(at) = lines
        .iter()
        .position(|l| l.trim_end() == "creation_rules:" || l.starts_with("creation_rules: #"))
    else {
        // No creation_rules key at all: append one.
        if text.lines().any(|l| l.starts_with("creation_rules")) {
            return None;
        }
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("creation_rules:\n");
        out.push_str(&format!("  # {comment}\n"));
        out.push_str(&rule(2));
        return Some(out);
    };
    // The first item's indentation decides ours.
    let indent = lines[at + 1..]
        .iter()
        .find(|l| !is_blank_or_comment(l))
        .filter(|l| l.trim_start().starts_with("- "))
        .map(|l| indent_of(l))
        .unwrap_or(2);
    let mut out: String = lines[..=at].concat();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("{}# {comment}\n", " ".repeat(indent)));
    out.push_str(&rule(indent));
    out.push_str(&lines[at + 1..].concat());
    Some(out)
}

/// Inserts `entries` (`<ns>/<name>` → path relative to the config) into
/// `clusters.<cluster>.sealed_paths` of an `overworld-secrets.yaml`, creating the key when needed.
/// Returns `None` when the cluster's block is not in the simple block style this edits.
pub fn insert_sealed_paths(
    text: &str,
    cluster: &str,
    entries: &BTreeMap<String, String>,
) -> Option<String> {
    if entries.is_empty() {
        return Some(text.to_string());
    }
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let top = lines
        .iter()
        .position(|l| l.starts_with("clusters:") && is_blank_or_comment(&l["clusters:".len()..]))?;
    let end = lines[top + 1..]
        .iter()
        .position(|l| !is_blank_or_comment(l) && indent_of(l) == 0)
        .map(|i| top + 1 + i)
        .unwrap_or(lines.len());
    let head = format!("{cluster}:");
    let at = (top + 1..end).find(|&i| {
        let l = &lines[i];
        indent_of(l) > 0 && l.trim_start().starts_with(&head)
    })?;
    let ci = indent_of(&lines[at]);
    let rest = lines[at].trim_start()[head.len()..].trim().to_string();
    let flow_empty = rest == "{}";
    if !(rest.is_empty() || rest.starts_with('#') || flow_empty) {
        return None;
    }
    if flow_empty {
        lines[at] = format!("{}{head}", " ".repeat(ci));
    }
    // The cluster block: following lines indented deeper.
    let block_end = (at + 1..end)
        .find(|&i| !is_blank_or_comment(&lines[i]) && indent_of(&lines[i]) <= ci)
        .unwrap_or(end);
    let child = (at + 1..block_end)
        .find(|&i| !is_blank_or_comment(&lines[i]))
        .map(|i| indent_of(&lines[i]))
        .unwrap_or(ci + 2);
    let existing = (at + 1..block_end).find(|&i| {
        indent_of(&lines[i]) == child && lines[i].trim_start().starts_with("sealed_paths:")
    });
    let entry = |pad: usize, k: &str, v: &str| {
        format!("{}{}: {}", " ".repeat(pad), yaml_quote(k), yaml_quote(v))
    };
    let mut new: Vec<String> = Vec::new();
    let insert_at = match existing {
        Some(i) => {
            let rest = lines[i].trim_start()["sealed_paths:".len()..].trim();
            if !(rest.is_empty() || rest.starts_with('#')) {
                return None;
            }
            let pad = (i + 1..block_end)
                .find(|&j| !is_blank_or_comment(&lines[j]))
                .map(|j| indent_of(&lines[j]))
                .filter(|&p| p > child)
                .unwrap_or(child + 2);
            for (k, v) in entries {
                new.push(entry(pad, k, v));
            }
            i + 1
        }
        None => {
            new.push(format!(
                "{}# Where reseal writes each SealedSecret (added by `overworld-secrets adopt`):",
                " ".repeat(child)
            ));
            new.push(format!("{}sealed_paths:", " ".repeat(child)));
            for (k, v) in entries {
                new.push(entry(child + 2, k, v));
            }
            at + 1
        }
    };
    lines.splice(insert_at..insert_at, new);
    let mut out = lines.join("\n");
    out.push('\n');
    Some(out)
}

/// Verifies an edited config: it loads, and the cluster maps every entry to the intended file.
pub fn verify_sealed_paths(
    config_path: &Path,
    text: &str,
    cluster: &str,
    entries: &BTreeMap<String, String>,
) -> bool {
    let Ok(cfg) = crate::config::Config::parse(config_path, text) else {
        return false;
    };
    let Some(c) = cfg.clusters.get(cluster) else {
        return false;
    };
    entries
        .iter()
        .all(|(k, v)| c.sealed_paths.get(k) == Some(&cfg.root.join(v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn entries() -> BTreeMap<String, String> {
        [(
            "db/creds".to_string(),
            "apps/db/creds.sealed.yaml".to_string(),
        )]
        .into()
    }

    #[test]
    fn sealed_paths_inserted_into_block_and_flow_empty_clusters() {
        let cfg = PathBuf::from("/r/overworld-secrets.yaml");
        for text in [
            "# top\nclusters:\n  prod:\n    cert: pub-cert.pem # pinned\n  dev: {}\ninfisical: {}\n",
            "clusters:\n    dev:\n    prod: {}\n",
            "clusters:\n  prod:\n    sealed_paths:\n      a/b: x.yaml\n",
        ] {
            let out = insert_sealed_paths(text, "prod", &entries()).expect(text);
            assert!(verify_sealed_paths(&cfg, &out, "prod", &entries()), "{out}");
            assert!(out.contains("# top") || !text.contains("# top"));
        }
        let kept = insert_sealed_paths(
            "clusters:\n  prod:\n    sealed_paths:\n      a/b: x.yaml\n",
            "prod",
            &entries(),
        )
        .unwrap();
        let c = crate::config::Config::parse(&cfg, &kept).unwrap();
        assert_eq!(c.clusters["prod"].sealed_paths.len(), 2, "{kept}");
        assert!(insert_sealed_paths("clusters: {prod: {}}\n", "prod", &entries()).is_none());
        assert!(insert_sealed_paths("clusters:\n  dev: {}\n", "prod", &entries()).is_none());
    }

    #[test]
    fn rule_goes_first_and_keeps_the_rest() {
        let text = "# mine\nkeys:\n  - &me age1x\ncreation_rules:\n    # old\n    - path_regex: (secret|db)\\.(yaml|env)$\n      age: *me\n";
        let out = insert_first_rule(text, "added", |i| {
            flux_rule(
                "^secrets/prod/.*\\.ya?ml$",
                &["age1a".into(), "age1b".into()],
                i,
            )
        })
        .unwrap();
        assert!(out.starts_with("# mine\nkeys:\n  - &me age1x\ncreation_rules:\n    # added\n    - path_regex: \"^secrets/prod/"), "{out}");
        assert!(out
            .ends_with("    # old\n    - path_regex: (secret|db)\\.(yaml|env)$\n      age: *me\n"));
        let appended = insert_first_rule("stores: {}\n", "added", |i| {
            flux_rule("^x$", &["age1a".into()], i)
        })
        .unwrap();
        assert!(
            appended.contains("creation_rules:\n  # added\n  - path_regex: \"^x$\"\n"),
            "{appended}"
        );
        assert!(
            insert_first_rule("creation_rules: []\n", "c", |i| flux_rule("^x$", &[], i)).is_none()
        );
    }
}
