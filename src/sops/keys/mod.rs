//! Master keys: finding age identities the way sops does, recovering the data key from the
//! metadata (one group, or Shamir across groups), and wrapping a data key for a set of groups
//! (SOPS.md §6).

pub mod age;
pub mod shamir;

use crate::secret::Key32;
use crate::sops::metadata::{AgeKey, KeyGroup, Metadata};
use std::path::{Path, PathBuf};

/// The age (and SSH) identities available to this process.
pub struct Identities {
    ids: Vec<Box<dyn ::age::Identity + Send + Sync>>,
    /// The age recipients of the X25519 identities held, so that a file's matching entry is tried
    /// first: every entry tried costs an X25519 agreement, the bulk of decrypting a small file.
    recipients: std::collections::HashSet<String>,
    /// Why some source gave nothing usable (shown in the failure report).
    notes: Vec<String>,
    /// Key files that others can read (printed by the commands as warnings).
    warnings: Vec<String>,
    /// The locations looked at, for the "did not find keys" message.
    locations: Vec<String>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({} loaded)", self.ids.len())
    }
}

/// Where to look, so tests and callers can control the environment explicitly.
#[derive(Clone, Debug, Default)]
pub struct IdentitySources {
    pub key: Option<String>,
    pub key_file: Option<PathBuf>,
    pub key_cmd: Option<String>,
    pub ssh_key_file: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub config_dir: Option<PathBuf>,
}

impl IdentitySources {
    /// The sources sops reads (SOPS.md §6.3), from the process environment.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let home = var("HOME").map(PathBuf::from);
        let config_dir = var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".config")));
        IdentitySources {
            key: var("SOPS_AGE_KEY"),
            key_file: var("SOPS_AGE_KEY_FILE").map(PathBuf::from),
            key_cmd: var("SOPS_AGE_KEY_CMD"),
            ssh_key_file: var("SOPS_AGE_SSH_PRIVATE_KEY_FILE").map(PathBuf::from),
            home,
            config_dir,
        }
    }
    pub fn default_keys_txt(&self) -> Option<PathBuf> {
        self.config_dir
            .as_ref()
            .map(|d| d.join("sops").join("age").join("keys.txt"))
    }
}

impl Identities {
    /// Gathers identities from every source (a union, as sops does). Sources that exist but cannot
    /// be read are errors naming the source; absent sources are simply skipped.
    pub fn load(src: &IdentitySources) -> Result<Identities, String> {
        let mut ids: Vec<Box<dyn ::age::Identity + Send + Sync>> = Vec::new();
        let mut x25519: Vec<::age::x25519::Identity> = Vec::new();
        let mut notes = Vec::new();
        let mut warnings = Vec::new();
        let home = src.home.clone().unwrap_or_default();
        let locations = vec![
            "SOPS_AGE_SSH_PRIVATE_KEY_FILE".to_string(),
            home.join(".ssh/id_ed25519").display().to_string(),
            home.join(".ssh/id_rsa").display().to_string(),
            "SOPS_AGE_KEY".to_string(),
            "SOPS_AGE_KEY_FILE".to_string(),
            "SOPS_AGE_KEY_CMD".to_string(),
            src.default_keys_txt()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "<config>/sops/age/keys.txt".into()),
        ];
        // 1. SSH keys: the named one, and the default ones whenever they exist.
        let mut ssh_paths = Vec::new();
        if let Some(p) = &src.ssh_key_file {
            ssh_paths.push((p.clone(), true));
        }
        if src.home.is_some() {
            ssh_paths.push((home.join(".ssh/id_ed25519"), false));
            ssh_paths.push((home.join(".ssh/id_rsa"), false));
        }
        for (p, explicit) in ssh_paths {
            match std::fs::read(&p) {
                Ok(bytes) => {
                    let bytes = zeroize::Zeroizing::new(bytes);
                    match age::parse_ssh_identity(&p, &bytes) {
                        Ok(id) => {
                            warnings.extend(readable_by_others(&p));
                            ids.push(id)
                        }
                        Err(e) if explicit => return Err(e),
                        Err(e) => notes.push(e),
                    }
                }
                Err(e) if explicit => {
                    return Err(format!(
                        "SOPS_AGE_SSH_PRIVATE_KEY_FILE {}: {e}",
                        p.display()
                    ))
                }
                Err(_) => {}
            }
        }
        // 2. SOPS_AGE_KEY: the identities' text itself.
        if let Some(text) = &src.key {
            x25519.extend(age::parse_identities("SOPS_AGE_KEY", text, &mut notes)?);
        }
        // 3. SOPS_AGE_KEY_FILE.
        if let Some(p) = &src.key_file {
            let text = read_identity_file(p)
                .map_err(|e| format!("SOPS_AGE_KEY_FILE {}: {e}", p.display()))?;
            warnings.extend(readable_by_others(p));
            x25519.extend(age::parse_identities(
                &p.display().to_string(),
                &text,
                &mut notes,
            )?);
        }
        // 4. SOPS_AGE_KEY_CMD: split shell-style, run without a shell; stdout is an identities file.
        if let Some(cmd) = &src.key_cmd {
            let text = run_key_cmd(cmd)?;
            x25519.extend(age::parse_identities(
                "SOPS_AGE_KEY_CMD",
                &text,
                &mut notes,
            )?);
        }
        // 5. The default keys.txt, whenever it exists.
        if let Some(p) = src.default_keys_txt() {
            if p.exists() {
                let text = read_identity_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                warnings.extend(readable_by_others(&p));
                x25519.extend(age::parse_identities(
                    &p.display().to_string(),
                    &text,
                    &mut notes,
                )?);
            }
        }
        let recipients = x25519.iter().map(|id| id.to_public().to_string()).collect();
        ids.extend(
            x25519
                .into_iter()
                .map(|id| match age::FastX25519::from_age(&id) {
                    Some(fast) => Box::new(fast) as Box<dyn ::age::Identity + Send + Sync>,
                    None => Box::new(id),
                }),
        );
        Ok(Identities {
            ids,
            recipients,
            notes,
            warnings,
            locations,
        })
    }

    pub fn from_env() -> Result<Identities, String> {
        Self::load(&IdentitySources::from_env())
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The identities, for callers that unwrap age files themselves (benchmarks).
    pub fn as_slice(&self) -> &[Box<dyn ::age::Identity + Send + Sync>] {
        &self.ids
    }

    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Identity files readable by the group or others, one sentence each (file and fix, never
    /// content). The commands print them; the library stays silent.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn no_keys_message(&self) -> String {
        let locs = &self.locations;
        let quoted: Vec<String> = locs.iter().map(|l| format!("'{l}'")).collect();
        let (last, rest) = quoted.split_last().expect("non-empty");
        format!(
            "failed to load age identities. Did not find keys in locations {}, and {}.",
            rest.join(", "),
            last
        )
    }
}

/// A warning when a private key file can be read by the group or others (as ssh refuses such a
/// key, but without refusing: sops reads them silently, and refusing would break scripts).
/// Files named `TEST-ONLY…` are the repository's published test keys, exempt by design.
#[cfg(unix)]
fn readable_by_others(p: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    if p.file_name()
        .is_some_and(|n| n.to_string_lossy().contains("TEST-ONLY"))
    {
        return None;
    }
    let mode = std::fs::metadata(p).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "{}: private key file is readable by {} (mode {mode:04o}); run `chmod 600 {}`",
            p.display(),
            if mode & 0o007 != 0 {
                "others"
            } else {
                "its group"
            },
            p.display()
        )
    })
}

#[cfg(not(unix))]
fn readable_by_others(_p: &Path) -> Option<String> {
    None
}

fn read_identity_file(p: &Path) -> Result<String, String> {
    let bytes = zeroize::Zeroizing::new(std::fs::read(p).map_err(|e| e.to_string())?);
    if bytes.starts_with(b"age-encryption.org/") || bytes.starts_with(b"-----BEGIN AGE") {
        return Err(
            "passphrase-protected identity files are not supported; decrypt it with `age -d` into a 0600 file or use SOPS_AGE_KEY_CMD".into(),
        );
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| "not UTF-8 text".into())
}

fn run_key_cmd(cmd: &str) -> Result<String, String> {
    let argv = shell_words::split(cmd).map_err(|e| format!("SOPS_AGE_KEY_CMD: {e}"))?;
    let (prog, args) = argv.split_first().ok_or("SOPS_AGE_KEY_CMD is empty")?;
    let out = std::process::Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("SOPS_AGE_KEY_CMD: could not run {prog}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "SOPS_AGE_KEY_CMD: {prog} exited with {}",
            out.status
        ));
    }
    let stdout = zeroize::Zeroizing::new(out.stdout);
    String::from_utf8(stdout.to_vec()).map_err(|_| "SOPS_AGE_KEY_CMD: output is not UTF-8".into())
}

/// The data key could not be recovered; `report` is sops's per-group report (SOPS.md §6.5).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{report}")]
pub struct DataKeyError {
    pub report: String,
}

fn wrap_text(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Per key group: each age entry's answer (`None`: not tried) and whether the group succeeded.
type GroupOutcome = (Vec<Option<Result<(), String>>>, bool);

/// sops's failure report: every group, and in it every age entry tried, in the file's order.
fn render_report(meta: &Metadata, outcomes: &[GroupOutcome]) -> String {
    let mut report =
        String::from("Failed to get the data key required to decrypt the SOPS file.\n");
    for (gi, (group, (outcome, ok))) in meta.key_groups.iter().zip(outcomes).enumerate() {
        let mut group_report = String::new();
        for (k, o) in group.age.iter().zip(outcome) {
            match o {
                Some(Ok(())) => group_report.push_str(&format!("  {}: SUCCESS\n", k.recipient)),
                Some(Err(e)) => {
                    group_report.push_str(&format!("  {}: FAILED\n", k.recipient));
                    for line in wrap_text(e, 60) {
                        group_report.push_str(&format!("    - | {line}\n"));
                    }
                }
                None => {}
            }
        }
        if !ok {
            for ty in group.other_types() {
                group_report.push_str(&format!(
                    "  ({ty} keys present: overworld-secrets cannot use {ty}; decrypt with sops or add an age recipient)\n"
                ));
            }
        }
        report.push_str(&format!(
            "\nGroup {gi}: {}\n{group_report}",
            if *ok { "SUCCESS" } else { "FAILED" }
        ));
    }
    report
}

/// Recovers the data key: one share per group that any of its keys unwraps, then (with several
/// groups) Shamir-combines all collected shares (SOPS.md §6.5).
pub fn recover_data_key(meta: &Metadata, ids: &Identities) -> Result<Key32, DataKeyError> {
    let mut shares: Vec<zeroize::Zeroizing<Vec<u8>>> = Vec::new();
    // What each group's entries answered; the report is only written when it is shown.
    let mut outcomes: Vec<GroupOutcome> = Vec::new();
    for group in &meta.key_groups {
        // Entries for a recipient we hold go first (each try is an X25519 agreement); the report,
        // shown only when every entry failed, keeps the file's order as sops prints it.
        let mut order: Vec<usize> = (0..group.age.len()).collect();
        order.sort_by_key(|&i| !ids.recipients.contains(&group.age[i].recipient));
        let mut outcome: Vec<Option<Result<(), String>>> = vec![None; group.age.len()];
        let mut got = None;
        for i in order {
            let k = &group.age[i];
            let res = if ids.is_empty() {
                Err(ids.no_keys_message())
            } else {
                match age::recipient_kind(&k.recipient) {
                    age::RecipientKind::PostQuantum | age::RecipientKind::Plugin => Err(format!(
                        "recipient type not supported by overworld-secrets ({})",
                        if age::recipient_kind(&k.recipient) == age::RecipientKind::Plugin {
                            "age plugin"
                        } else {
                            "post-quantum age1pq1"
                        }
                    )),
                    _ => age::unwrap(&k.enc, &ids.ids).map_err(|e| {
                        format!(
                            "failed to create reader for decrypting sops data key with age: {e}"
                        )
                    }),
                }
            };
            match res {
                Ok(v) => {
                    outcome[i] = Some(Ok(()));
                    got = Some(v);
                    break;
                }
                Err(e) => outcome[i] = Some(Err(e)),
            }
        }
        outcomes.push((outcome, got.is_some()));
        if let Some(v) = got {
            shares.push(v);
        }
    }
    let groups = meta.key_groups.len();
    let fail = |mut report: String, trailer: String| {
        report.push('\n');
        for line in wrap_text(&trailer, 75) {
            report.push_str(&line);
            report.push('\n');
        }
        DataKeyError { report }
    };
    if groups <= 1 {
        return match shares.pop() {
            Some(k) => Key32::from_slice(&k).ok_or_else(|| DataKeyError {
                report: "the data key in the file is not 32 bytes".into(),
            }),
            None => Err(fail(render_report(meta, &outcomes), "Recovery failed because no master key was able to decrypt the file. In order for SOPS to recover the file, at least one key has to be successful, but none were.".into())),
        };
    }
    let threshold = if meta.shamir_threshold == 0 {
        groups
    } else {
        meta.shamir_threshold
    };
    if shares.len() < threshold {
        return Err(fail(render_report(meta, &outcomes), format!("Recovery failed because the file was encrypted with a Shamir threshold of {threshold}, but only {} part(s) were successfully recovered, one for each successful key group. In order for SOPS to recover the file, at least {threshold} groups have to be successful. In order for a group to be successful, decryption has to succeed with any of the keys in that key group.", shares.len())));
    }
    let refs: Vec<&[u8]> = shares.iter().map(|s| s.as_slice()).collect();
    let key = shamir::combine(&refs).map_err(|e| DataKeyError {
        report: format!("could not combine the key shares: {e}"),
    })?;
    Key32::from_slice(&key).ok_or_else(|| DataKeyError {
        report: "the recombined data key is not 32 bytes".into(),
    })
}

/// Wraps `key` for every age recipient of `groups` (recipient lists per group), splitting it with
/// Shamir when there is more than one group. Returns the key groups for the metadata.
pub fn wrap_data_key(
    key: &Key32,
    groups: &[Vec<String>],
    threshold: usize,
) -> Result<Vec<KeyGroup>, WrapError> {
    if groups.is_empty() || groups.iter().all(|g| g.is_empty()) {
        return Err(WrapError::NoRecipients);
    }
    let shares = if groups.len() > 1 {
        let t = if threshold == 0 {
            groups.len()
        } else {
            threshold
        };
        Some(shamir::split(key.expose(), groups.len(), t).map_err(WrapError::Shamir)?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(groups.len());
    for (i, recipients) in groups.iter().enumerate() {
        let payload: &[u8] = match &shares {
            Some(s) => &s[i],
            None => key.expose(),
        };
        let mut g = KeyGroup::default();
        for r in recipients {
            g.age.push(AgeKey {
                recipient: r.clone(),
                enc: age::wrap(r, payload).map_err(WrapError::Age)?,
            });
        }
        out.push(g);
    }
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    #[error("no age recipients given: add them to .sops.yaml (creation_rules) or pass --age")]
    NoRecipients,
    #[error("{0}")]
    Shamir(shamir::ShamirError),
    #[error("{0}")]
    Age(age::AgeError),
}
