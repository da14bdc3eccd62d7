//! Sealing scopes and the OAEP label they bind (SEALED-SECRETS.md §2).
//!
//! It exists because the label is the only thing tying a ciphertext to a name/namespace: a wrong
//! label means the controller reports `no key could decrypt secret`. It must never treat anything
//! but the exact string `true` as setting a scope annotation, and never read the scope from
//! anywhere but the annotations it is given (the controller uses the top-level ones).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// `sealedsecrets.bitnami.com/cluster-wide`
pub const CLUSTER_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/cluster-wide";
/// `sealedsecrets.bitnami.com/namespace-wide`
pub const NAMESPACE_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/namespace-wide";
/// In `spec.template.metadata.annotations`: the Secret gets no ownerReference (§2).
pub const SKIP_SET_OWNER_REFERENCES_ANNOTATION: &str =
    "sealedsecrets.bitnami.com/skip-set-owner-references";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// Bound to namespace and name: label `"<namespace>/<name>"`.
    #[default]
    Strict,
    /// Bound to the namespace: label `"<namespace>"`.
    NamespaceWide,
    /// Bound to nothing: empty label.
    ClusterWide,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid scope {0:?}: expected strict, namespace-wide or cluster-wide")]
pub struct ScopeParseError(String);

/// kubeseal `--raw` argument errors (§4.7), with kubeseal's texts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RawLabelError {
    #[error("must provide the --namespace flag with --raw and --scope {0}")]
    MissingNamespace(Scope),
    #[error("must provide the --name flag with --raw and --scope {0}")]
    MissingName(Scope),
}

impl Scope {
    /// The scope declared by annotations (§2): value must be exactly `"true"`; if both are set,
    /// cluster-wide wins.
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Scope {
        let is_true = |k: &str| annotations.get(k).map(String::as_str) == Some("true");
        if is_true(CLUSTER_WIDE_ANNOTATION) {
            Scope::ClusterWide
        } else if is_true(NAMESPACE_WIDE_ANNOTATION) {
            Scope::NamespaceWide
        } else {
            Scope::Strict
        }
    }

    /// The OAEP label bytes (§2). Strict uses a single `/` (the code, not the docs, is right).
    pub fn label(self, namespace: &str, name: &str) -> Vec<u8> {
        match self {
            Scope::Strict => format!("{namespace}/{name}").into_bytes(),
            Scope::NamespaceWide => namespace.as_bytes().to_vec(),
            Scope::ClusterWide => Vec::new(),
        }
    }

    /// The label for `kubeseal --raw` (§4.7): strict needs a namespace and a name,
    /// namespace-wide a namespace, cluster-wide nothing.
    pub fn raw_label(
        self,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Result<Vec<u8>, RawLabelError> {
        let ns = namespace.filter(|n| !n.is_empty());
        let name = name.filter(|n| !n.is_empty());
        match self {
            Scope::ClusterWide => Ok(Vec::new()),
            _ if ns.is_none() => Err(RawLabelError::MissingNamespace(self)),
            Scope::Strict if name.is_none() => Err(RawLabelError::MissingName(self)),
            _ => Ok(self.label(ns.unwrap_or(""), name.unwrap_or(""))),
        }
    }

    /// The annotation kubeseal writes for this scope, if any (§4.4).
    pub fn annotation(self) -> Option<&'static str> {
        match self {
            Scope::Strict => None,
            Scope::NamespaceWide => Some(NAMESPACE_WIDE_ANNOTATION),
            Scope::ClusterWide => Some(CLUSTER_WIDE_ANNOTATION),
        }
    }

    /// kubeseal `--scope` handling (§4.2): for a non-strict scope both annotations are removed and
    /// the chosen one set; strict changes nothing (the annotations then decide).
    pub fn apply_override(self, annotations: &mut BTreeMap<String, String>) {
        if self == Scope::Strict {
            return;
        }
        annotations.remove(CLUSTER_WIDE_ANNOTATION);
        annotations.remove(NAMESPACE_WIDE_ANNOTATION);
        if let Some(a) = self.annotation() {
            annotations.insert(a.to_string(), "true".to_string());
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = ScopeParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Scope::Strict),
            "namespace-wide" => Ok(Scope::NamespaceWide),
            "cluster-wide" => Ok(Scope::ClusterWide),
            other => Err(ScopeParseError(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn scope_from_annotations_table() {
        let cw = CLUSTER_WIDE_ANNOTATION;
        let nw = NAMESPACE_WIDE_ANNOTATION;
        let table: &[(&[(&str, &str)], Scope)] = &[
            (&[], Scope::Strict),
            (&[(nw, "true")], Scope::NamespaceWide),
            (&[(cw, "true")], Scope::ClusterWide),
            (&[(cw, "true"), (nw, "true")], Scope::ClusterWide),
            (&[(cw, "True")], Scope::Strict),
            (&[(cw, "TRUE")], Scope::Strict),
            (&[(cw, "yes")], Scope::Strict),
            (&[(cw, "1")], Scope::Strict),
            (&[(cw, " true")], Scope::Strict),
            (&[(cw, "false"), (nw, "true")], Scope::NamespaceWide),
            (&[("other/cluster-wide", "true")], Scope::Strict),
        ];
        for (pairs, want) in table {
            assert_eq!(Scope::from_annotations(&ann(pairs)), *want, "{pairs:?}");
        }
    }

    #[test]
    fn labels() {
        assert_eq!(Scope::Strict.label("apps", "db"), b"apps/db");
        assert_eq!(Scope::Strict.label("", "db"), b"/db");
        assert_eq!(Scope::NamespaceWide.label("apps", "db"), b"apps");
        assert_eq!(Scope::ClusterWide.label("apps", "db"), b"");
        assert_eq!(Scope::Strict.label("ns", "ü"), "ns/ü".as_bytes());
    }

    #[test]
    fn raw_mode_labels_and_errors() {
        assert_eq!(
            Scope::Strict.raw_label(Some("a"), Some("b")).unwrap(),
            b"a/b"
        );
        assert_eq!(
            Scope::NamespaceWide.raw_label(Some("a"), None).unwrap(),
            b"a"
        );
        assert_eq!(Scope::ClusterWide.raw_label(None, None).unwrap(), b"");
        assert_eq!(
            Scope::Strict
                .raw_label(Some("a"), None)
                .unwrap_err()
                .to_string(),
            "must provide the --name flag with --raw and --scope strict"
        );
        assert_eq!(
            Scope::NamespaceWide
                .raw_label(Some(""), Some("b"))
                .unwrap_err()
                .to_string(),
            "must provide the --namespace flag with --raw and --scope namespace-wide"
        );
    }

    #[test]
    fn override_rules() {
        let mut a = ann(&[(CLUSTER_WIDE_ANNOTATION, "true"), ("x", "y")]);
        Scope::Strict.apply_override(&mut a);
        assert_eq!(Scope::from_annotations(&a), Scope::ClusterWide);
        Scope::NamespaceWide.apply_override(&mut a);
        assert_eq!(a, ann(&[(NAMESPACE_WIDE_ANNOTATION, "true"), ("x", "y")]));
        assert_eq!("cluster-wide".parse::<Scope>().unwrap(), Scope::ClusterWide);
        assert!("Strict".parse::<Scope>().is_err());
    }
}
