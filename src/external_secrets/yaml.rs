//! The one place generated ExternalSecret manifests become YAML text. It delegates to the shared
//! go-yaml v2 renderer (`crate::sealed::goyaml`, what `kubectl`/`kubeseal` print through
//! sigs.k8s.io/yaml), so every manifest the tool generates has one style.

use serde_json::Value;
use std::cmp::Ordering;

/// go-yaml v2's key order (natural order: digit runs compare as numbers, non-letters first).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    if a == b {
        Ordering::Equal
    } else if crate::sealed::goyaml::natural_less(a, b) {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// Renders a manifest in kubectl's YAML style.
pub fn render_yaml(v: &Value) -> String {
    crate::sealed::json_to_go_yaml(v)
}
