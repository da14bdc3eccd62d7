//! Validation of the two config sections `external_secrets` owns: each cluster's
//! `external_secrets:` block and the top-level `workloads:` map (schema in `super`'s doc). It
//! exists so the generator works on plain, already-checked structs; it must never accept an
//! unknown key silently (a typo in a security tool's config must fail, with a suggestion), and
//! it never touches the seed data or the file system.

use super::EsoError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The default name of the Infisical ClusterSecretStore.
pub const DEFAULT_STORE: &str = "infisical";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentials {
    name: Option<String>,
    namespace: Option<String>,
    client_id_key: Option<String>,
    client_secret_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClusterEso {
    environment: String,
    store: Option<String>,
    output: Option<PathBuf>,
    seed: Option<PathBuf>,
    host: Option<String>,
    project: Option<String>,
    credentials: Option<RawCredentials>,
    eso_version: Option<String>,
}

/// Where the store's universal-auth credentials live (INFISICAL.md §9: a ClusterSecretStore must
/// name the Secret's namespace, or ESO reads it from each consumer's namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub name: String,
    pub namespace: String,
    pub client_id_key: String,
    pub client_secret_key: String,
}

/// One cluster's validated `external_secrets:` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEso {
    pub cluster: String,
    /// Infisical environment slug this cluster reads.
    pub environment: String,
    /// ClusterSecretStore name.
    pub store: String,
    /// Output folder (absolute).
    pub output: PathBuf,
    /// Seed file listing the environment's keys (absolute).
    pub seed: PathBuf,
    /// Infisical base URL, without `/api` (EXTERNAL-SECRETS.md §3.1).
    pub host: String,
    /// Infisical project slug.
    pub project: String,
    pub credentials: Credentials,
    /// The cluster's ESO release, when configured; gates features by version.
    pub eso_version: Option<EsoVersion>,
}

/// An ESO release (`2.0.1`, `v0.17.0`), compared field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EsoVersion(pub u32, pub u32, pub u32);

impl std::fmt::Display for EsoVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl EsoVersion {
    /// Oldest release the generated manifests work on: `external-secrets.io/v1` is served from
    /// v0.16.0 and absolute Infisical keys resolve from v0.17.0 (INFISICAL.md §9.1, §9.5).
    pub const MIN: EsoVersion = EsoVersion(0, 17, 0);
    /// `dataFrom.find.path` matches folders (not names) from v2.2.0 (INFISICAL.md §9.4).
    pub const FIND_PATH_IS_FOLDER: EsoVersion = EsoVersion(2, 2, 0);
    /// `creationPolicy: CreateOrMerge` (EXTERNAL-SECRETS.md §1).
    pub const CREATE_OR_MERGE: EsoVersion = EsoVersion(2, 8, 0);

    pub fn parse(s: &str) -> Option<EsoVersion> {
        let t = s.strip_prefix('v').unwrap_or(s);
        let mut it = t.split('.').map(|p| p.parse::<u32>().ok());
        let v = EsoVersion(it.next()??, it.next()??, it.next().unwrap_or(Some(0))?);
        it.next().is_none().then_some(v)
    }
}

/// A store other than the cluster's Infisical store (e.g. a kubernetes-provider store that
/// re-publishes a bootstrap Secret): keys are passed through and not checked against the seed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreRef {
    pub name: String,
    #[serde(default = "cluster_secret_store")]
    pub kind: String,
}

fn cluster_secret_store() -> String {
    "ClusterSecretStore".into()
}

/// `data:` value: a key, or a key plus a JSON property.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum DataRef {
    Key(String),
    Property(KeyProperty),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyProperty {
    pub key: String,
    pub property: String,
}

impl DataRef {
    pub fn key(&self) -> &str {
        match self {
            DataRef::Key(k) => k,
            DataRef::Property(p) => &p.key,
        }
    }
    pub fn property(&self) -> Option<&str> {
        match self {
            DataRef::Key(_) => None,
            DataRef::Property(p) => Some(&p.property),
        }
    }
}

/// One `rewrite` item: exactly one operation (ESO ≥ v0.19 rejects two; EXTERNAL-SECRETS.md §2.4).
/// An externally tagged enum makes a second operation in the same item a parse error.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Rewrite {
    Regexp { source: String, target: String },
    Transform(String),
}

/// `from:` item: a path alone, or with rewrites.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum FromRef {
    Path(String),
    WithRewrite(FromWithRewrite),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromWithRewrite {
    pub path: String,
    pub rewrite: Vec<Rewrite>,
}

impl FromRef {
    pub fn path(&self) -> &str {
        match self {
            FromRef::Path(p) => p,
            FromRef::WithRewrite(w) => &w.path,
        }
    }
    pub fn rewrite(&self) -> &[Rewrite] {
        match self {
            FromRef::Path(_) => &[],
            FromRef::WithRewrite(w) => &w.rewrite,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub secret_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    namespace: String,
    clusters: Option<Vec<String>>,
    store: Option<StoreRef>,
    target: Option<Target>,
    refresh: Option<String>,
    creation_policy: Option<String>,
    deletion_policy: Option<String>,
    #[serde(default)]
    data: BTreeMap<String, DataRef>,
    #[serde(default)]
    from: Vec<FromRef>,
    #[serde(default)]
    template: BTreeMap<String, String>,
}

/// One validated workload: becomes one ExternalSecret per cluster it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// The ExternalSecret's name (the `workloads:` key).
    pub name: String,
    pub namespace: String,
    /// `None` = every cluster with an `external_secrets:` block.
    pub clusters: Option<Vec<String>>,
    /// `None` = the cluster's Infisical ClusterSecretStore.
    pub store: Option<StoreRef>,
    pub target: Target,
    /// Canonical Go duration (`1h0m0s`), when configured.
    pub refresh: Option<String>,
    pub creation_policy: Option<String>,
    pub deletion_policy: Option<String>,
    pub data: BTreeMap<String, DataRef>,
    pub from: Vec<FromRef>,
    pub template: BTreeMap<String, String>,
}

impl Workload {
    /// The target Secret's name: explicit, else the workload's name.
    pub fn target_name(&self) -> &str {
        self.target.name.as_deref().unwrap_or(&self.name)
    }
    pub fn runs_on(&self, cluster: &str) -> bool {
        self.clusters
            .as_ref()
            .is_none_or(|c| c.iter().any(|x| x == cluster))
    }
}

use crate::config::with_suggestion;

fn invalid(path: &Path, section: &str, msg: String) -> EsoError {
    EsoError::Config {
        path: path.to_path_buf(),
        msg: format!("{section}: {msg}"),
    }
}

/// Go's `time.ParseDuration` (units ns, us, µs, ms, s, m, h; no `d`), printed the way Go's
/// `Duration.String()` prints it — the form the CRD documents (`1h0m0s`, EXTERNAL-SECRETS.md
/// §2.1), so `1h`, `60m` and `1h0m0s` all generate the same bytes.
pub fn canonical_duration(s: &str) -> Result<String, String> {
    let nanos = parse_duration(s)?;
    Ok(format_duration(nanos))
}

fn parse_duration(s: &str) -> Result<u128, String> {
    let bad =
        || format!("{s:?} is not a Go duration (e.g. 1h, 30m, 1h30m0s; units ns us ms s m h)");
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() || s.starts_with('-') {
        return Err(bad());
    }
    let t = s.strip_prefix('+').unwrap_or(s);
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(bad());
        }
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => {
                return Err(format!(
                    "{s:?}: Go durations have no `d` unit; write hours (24h)"
                ))
            }
            _ => return Err(bad()),
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        let int: u128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| bad())?
        };
        let mut f: u128 = 0;
        let mut div: u128 = 1;
        for c in frac.chars().take(30) {
            f = f * 10 + (c as u128 - '0' as u128);
            div *= 10;
        }
        total = int
            .checked_mul(scale)
            .and_then(|v| v.checked_add(f * scale / div))
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if total > i64::MAX as u128 {
        return Err(format!("{s:?} is longer than Go's longest duration"));
    }
    Ok(total)
}

fn format_duration(n: u128) -> String {
    fn frac(v: u128, digits: u32) -> String {
        // `v` = whole + fraction with `digits` decimal places; trailing zeros trimmed.
        let p = 10u128.pow(digits);
        let (w, f) = (v / p, v % p);
        if f == 0 {
            w.to_string()
        } else {
            let fs = format!("{f:0width$}", width = digits as usize);
            format!("{w}.{}", fs.trim_end_matches('0'))
        }
    }
    if n == 0 {
        return "0s".into();
    }
    if n < 1_000 {
        return format!("{n}ns");
    }
    if n < 1_000_000 {
        return format!("{}µs", frac(n, 3));
    }
    if n < 1_000_000_000 {
        return format!("{}ms", frac(n, 6));
    }
    let h = n / 3_600_000_000_000;
    let m = (n / 60_000_000_000) % 60;
    let s = n % 60_000_000_000;
    let mut o = String::new();
    if h > 0 {
        o.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        o.push_str(&format!("{m}m"));
    }
    o.push_str(&format!("{}s", frac(s, 9)));
    o
}

/// The `host`/`project` pair from the raw top-level `infisical:` section (validated in full by
/// `infisical::config`; only these two are read here).
fn infisical_defaults(raw: Option<&serde_yaml_ng::Value>) -> (Option<String>, Option<String>) {
    let get = |k: &str| {
        raw.and_then(|v| v.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    (get("host"), get("project"))
}

/// Validates every cluster's `external_secrets:` block; clusters without one are skipped.
pub fn clusters(config: &crate::config::Config) -> Result<Vec<ClusterEso>, EsoError> {
    let (host0, project0) = infisical_defaults(config.infisical.as_ref());
    let mut out = Vec::new();
    for c in config.clusters.values() {
        let Some(raw) = &c.external_secrets else {
            continue;
        };
        let section = format!("clusters.{}.external_secrets", c.name);
        let r: RawClusterEso = serde_yaml_ng::from_value(raw.clone())
            .map_err(|e| invalid(&config.path, &section, with_suggestion(&e.to_string())))?;
        let need = |v: Option<String>, what: &str| {
            v.filter(|s| !s.is_empty()).ok_or_else(|| {
                invalid(
                    &config.path,
                    &section,
                    format!("no Infisical {what}: set `infisical.{what}` or `{section}.{what}`"),
                )
            })
        };
        let host = need(r.host.or(host0.clone()), "host")?;
        let project = need(r.project.or(project0.clone()), "project")?;
        // ESO's Go SDK appends `/api` itself; emit the base URL (EXTERNAL-SECRETS.md §3.1).
        let host = host
            .trim_end_matches('/')
            .trim_end_matches("/api")
            .to_string();
        if host.contains("${") {
            // The user's commit 5710fe1: an unsubstituted Flux variable in hostAPI.
            return Err(invalid(
                &config.path,
                &section,
                "host contains `${…}`, which Flux postBuild substitution would rewrite; write the URL".into(),
            ));
        }
        check_dns_label(&r.environment, "environment")
            .map_err(|m| invalid(&config.path, &section, m))?;
        let eso_version = match &r.eso_version {
            None => None,
            Some(v) => {
                let parsed = EsoVersion::parse(v).ok_or_else(|| {
                    invalid(
                        &config.path,
                        &section,
                        format!("eso_version {v:?} is not a release number like 2.0.1"),
                    )
                })?;
                if parsed < EsoVersion::MIN {
                    return Err(invalid(
                        &config.path,
                        &section,
                        format!(
                            "eso_version {parsed} is older than {}: external-secrets.io/v1 and absolute Infisical keys need it; upgrade ESO first",
                            EsoVersion::MIN
                        ),
                    ));
                }
                Some(parsed)
            }
        };
        let store = r.store.unwrap_or_else(|| DEFAULT_STORE.into());
        check_dns_subdomain(&store, "store").map_err(|m| invalid(&config.path, &section, m))?;
        let cr = r.credentials.unwrap_or(RawCredentials {
            name: None,
            namespace: None,
            client_id_key: None,
            client_secret_key: None,
        });
        let credentials = Credentials {
            name: cr.name.unwrap_or_else(|| "infisical-universal-auth".into()),
            namespace: cr.namespace.unwrap_or_else(|| "external-secrets".into()),
            client_id_key: cr.client_id_key.unwrap_or_else(|| "clientId".into()),
            client_secret_key: cr
                .client_secret_key
                .unwrap_or_else(|| "clientSecret".into()),
        };
        check_dns_subdomain(&credentials.name, "credentials.name")
            .map_err(|m| invalid(&config.path, &section, m))?;
        check_dns_label(&credentials.namespace, "credentials.namespace")
            .map_err(|m| invalid(&config.path, &section, m))?;
        for k in [&credentials.client_id_key, &credentials.client_secret_key] {
            check_secret_key(k).map_err(|m| invalid(&config.path, &section, m))?;
        }
        out.push(ClusterEso {
            cluster: c.name.clone(),
            output: config.root.join(
                r.output
                    .unwrap_or_else(|| format!("manifests/{}/external-secrets", c.name).into()),
            ),
            seed: config.root.join(
                r.seed
                    .unwrap_or_else(|| format!("secrets/infisical/{}.yaml", r.environment).into()),
            ),
            environment: r.environment,
            store,
            host,
            project,
            credentials,
            eso_version,
        });
    }
    Ok(out)
}

/// Validates the `workloads:` map (shape and single-field rules; cross-checks against the seed
/// and between workloads happen in `generate`).
pub fn workloads(
    path: &Path,
    raw: Option<&serde_yaml_ng::Value>,
    known_clusters: &[String],
) -> Result<Vec<Workload>, EsoError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    if raw.is_null() {
        return Ok(Vec::new());
    }
    let map: BTreeMap<String, serde_yaml_ng::Value> = serde_yaml_ng::from_value(raw.clone())
        .map_err(|e| invalid(path, "workloads", with_suggestion(&e.to_string())))?;
    let mut out = Vec::new();
    for (name, v) in map {
        let section = format!("workloads.{name}");
        let err = |msg: String| EsoError::Workload {
            workload: name.clone(),
            cluster: None,
            msg,
        };
        let r: RawWorkload = serde_yaml_ng::from_value(v).map_err(|e| {
            let m = e.to_string();
            // serde's untagged-enum failure says nothing useful; say what the shapes are.
            let m = if m.contains("did not match any variant of untagged enum DataRef") {
                "a data value is `/absolute/KEY` or `{key: /absolute/KEY, property: NAME}`".into()
            } else if m.contains("did not match any variant of untagged enum FromRef") {
                "a from item is `/absolute/folder` or `{path: /absolute/folder, rewrite: [{regexp: {source: …, target: …}} | {transform: \"…\"}]}` (one operation per rewrite item)".into()
            } else {
                with_suggestion(&m)
            };
            invalid(path, &section, m)
        })?;
        check_dns_subdomain(&name, "the workload name (the ExternalSecret's name)").map_err(err)?;
        check_dns_label(&r.namespace, "namespace").map_err(err)?;
        if let Some(t) = &r.target.as_ref().and_then(|t| t.name.clone()) {
            check_dns_subdomain(t, "target.name").map_err(err)?;
        }
        if let Some(cs) = &r.clusters {
            for c in cs {
                if !known_clusters.contains(c) {
                    let hint = known_clusters
                        .iter()
                        .map(|k| (strsim::levenshtein(c, k), k))
                        .min()
                        .filter(|(d, _)| *d <= 3)
                        .map(|(_, k)| format!(" — did you mean {k:?}?"))
                        .unwrap_or_default();
                    return Err(err(format!(
                        "clusters: unknown cluster {c:?} (configured: {}){hint}",
                        known_clusters.join(", ")
                    )));
                }
            }
        }
        if let Some(s) = &r.store {
            check_dns_subdomain(&s.name, "store.name").map_err(err)?;
            if s.kind != "ClusterSecretStore" && s.kind != "SecretStore" {
                return Err(err(format!(
                    "store.kind {:?} must be ClusterSecretStore or SecretStore",
                    s.kind
                )));
            }
        }
        let refresh = r
            .refresh
            .as_deref()
            .map(canonical_duration)
            .transpose()
            .map_err(|m| err(format!("refresh: {m}")))?;
        let policy = |v: &Option<String>, allowed: &[&str], what: &str| {
            if let Some(p) = v {
                if !allowed.contains(&p.as_str()) {
                    return Err(err(format!(
                        "{what} {p:?} must be one of {}",
                        allowed.join(", ")
                    )));
                }
            }
            Ok(())
        };
        policy(
            &r.creation_policy,
            &["Owner", "Orphan", "Merge", "None", "CreateOrMerge"],
            "creation_policy",
        )?;
        policy(
            &r.deletion_policy,
            &["Delete", "Merge", "Retain"],
            "deletion_policy",
        )?;
        if r.data.is_empty() && r.from.is_empty() && r.template.is_empty() {
            return Err(err(
                "nothing to fetch: give `data`, `from` or `template`".into()
            ));
        }
        out.push(Workload {
            namespace: r.namespace,
            clusters: r.clusters,
            store: r.store,
            // Canonical form: a target named like the workload, or of type Opaque, is the same
            // as an omitted one (and is how `import` prints it).
            target: {
                let mut t = r.target.unwrap_or_default();
                t.name = t.name.filter(|n| *n != name);
                t.secret_type = t.secret_type.filter(|ty| ty != "Opaque");
                t
            },
            refresh,
            // Controller defaults are not written (EXTERNAL-SECRETS.md §1, v2.9 note).
            creation_policy: r.creation_policy.filter(|p| p != "Owner"),
            deletion_policy: r.deletion_policy.filter(|p| p != "Retain"),
            data: r.data,
            from: r.from,
            template: r.template,
            name,
        });
    }
    Ok(out)
}

/// A Secret data key Kubernetes accepts (`IsConfigMapKey`; CRD `secretKey` pattern
/// `^[-._a-zA-Z0-9]+$`, EXTERNAL-SECRETS.md §2.3).
pub fn check_secret_key(k: &str) -> Result<(), String> {
    let ok = !k.is_empty()
        && k.len() <= 253
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && k != "."
        && k != ".."
        && !k.starts_with("..");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{k:?} is not a valid Secret key (letters, digits, '-', '_', '.'; at most 253; not `.`, `..` or starting with `..`)"
        ))
    }
}

fn check_dns_label(s: &str, what: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {s:?} must be a DNS label (lowercase letters, digits, '-', at most 63)"
        ))
    }
}

/// DNS-1123 subdomain (object names; CRD pattern of `secretStoreRef.name`).
pub fn check_dns_subdomain(s: &str, what: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {s:?} must be a DNS subdomain (lowercase letters, digits, '-', '.')"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        for (i, o) in [
            ("1h", "1h0m0s"),
            ("60m", "1h0m0s"),
            ("1h0m0s", "1h0m0s"),
            ("1m", "1m0s"),
            ("90s", "1m30s"),
            ("1.5h", "1h30m0s"),
            ("0", "0s"),
            ("0s", "0s"),
            ("500ms", "500ms"),
            ("1500ms", "1.5s"),
            ("2us", "2µs"),
            ("1h0.5s", "1h0m0.5s"),
        ] {
            assert_eq!(canonical_duration(i).unwrap(), o, "{i}");
        }
        for bad in ["", "1d", "-1h", "h", "1", "1x", "1..5s"] {
            assert!(canonical_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn eso_versions() {
        assert_eq!(EsoVersion::parse("2.0.1"), Some(EsoVersion(2, 0, 1)));
        assert_eq!(EsoVersion::parse("v0.17"), Some(EsoVersion(0, 17, 0)));
        assert!(EsoVersion::parse("2.0.1.4").is_none());
        assert!(EsoVersion::parse("latest").is_none());
        assert!(EsoVersion(2, 0, 1) < EsoVersion::FIND_PATH_IS_FOLDER);
        assert!(EsoVersion(0, 9, 0) < EsoVersion(0, 17, 0));
    }

    #[test]
    fn secret_keys() {
        for ok in ["DB_PASSWORD", ".dockerconfigjson", "tls.crt", "a-b"] {
            assert!(check_secret_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "..a", "a/b", "a b", "ü"] {
            assert!(check_secret_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_workload_field_is_suggested() {
        let v: serde_yaml_ng::Value =
            serde_yaml_ng::from_str("w:\n  namespace: x\n  refersh: 1h\n  data: {A: /A}\n")
                .unwrap();
        let e = workloads(Path::new("/c.yaml"), Some(&v), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `refresh`"), "{e}");
    }

    #[test]
    fn two_rewrite_operations_in_one_item_are_rejected() {
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            "w:\n  namespace: x\n  from:\n  - path: /a\n    rewrite:\n    - regexp: {source: a, target: b}\n      transform: x\n",
        )
        .unwrap();
        let e = workloads(Path::new("/c.yaml"), Some(&v), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("one operation per rewrite item"), "{e}");
    }

    proptest::proptest! {
        /// Go's printed form parses back to the same duration, and is a fixed point.
        #[test]
        fn canonical_durations_are_fixed_points(
            big in 0u128..=(i64::MAX as u128),
            small in 0u128..10_000_000_000u128,
        ) {
            for n in [big, small] {
                let s = format_duration(n);
                proptest::prop_assert_eq!(parse_duration(&s).unwrap(), n, "{}", s);
                proptest::prop_assert_eq!(canonical_duration(&s).unwrap(), s);
            }
        }
    }
}
