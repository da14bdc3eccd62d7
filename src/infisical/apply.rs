//! The seeding sequence over a logged-in [`Client`] (INFISICAL.md §7): read what an environment
//! holds, then — after the caller has shown the plan and got consent — create the missing
//! folders and send one batch per (folder, operation). A batch is a server-side transaction, so a
//! failure leaves that batch unwritten and a re-run re-diffs and converges; the outcome records,
//! per batch, applied / pending approval / failed / not attempted, by names only.
//!
//! This module must never write without a plan the user has seen, and never send an update for a
//! value that is already right (every update is a new secret version, §6.4).

use super::client::{BatchEntry, BatchOp, Client, Project, WriteOutcome};
use super::plan::{self, Action, Current, EnvPlan};
use super::seed::Seed;
use super::{join, InfisicalError, Result};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// An environment's state as read, ready to plan against.
#[derive(Debug, Clone)]
pub struct EnvState {
    pub environment: String,
    pub current: Current,
}

/// Reads the folders the seed needs and every secret of the environment. Fails on an environment
/// the project does not have: the server would list it as empty (INFISICAL.md §3.2) and a write
/// would fail or land nowhere useful.
pub fn read_state(
    client: &mut Client,
    project: &Project,
    env: &str,
    seed: &Seed,
) -> Result<EnvState> {
    if !project.environments.iter().any(|e| e == env) {
        return Err(InfisicalError::UnknownEnvironment {
            env: env.to_string(),
            project: project.slug.clone(),
            known: if project.environments.is_empty() {
                "none".into()
            } else {
                project.environments.join(", ")
            },
        });
    }
    let mut current = Current::default();
    current.folders.insert("/".into());
    // Walk from `/`, shallow first: a path missing from its parent's listing is missing, and so
    // is everything below it — listing a missing path answers an empty 200, which proves nothing
    // (§4.1), so we never list one.
    let mut wanted: Vec<&String> = seed.folders.keys().filter(|f| f.as_str() != "/").collect();
    wanted.sort_by_key(|f| (f.matches('/').count(), (*f).clone()));
    let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in wanted {
        let (parent, name) = f.rsplit_once('/').expect("absolute folder path");
        let parent = if parent.is_empty() { "/" } else { parent };
        if !current.folders.contains(parent) {
            continue;
        }
        if !listed.contains_key(parent) {
            let names = client.list_folders(env, parent)?;
            listed.insert(parent.to_string(), names.into_iter().collect());
        }
        if listed[parent].contains(name) {
            current.folders.insert(f.clone());
        }
    }
    for s in client.list_secrets(env, "/")? {
        current.folders.insert(s.folder.clone());
        current
            .secrets
            .entry(s.folder)
            .or_default()
            .insert(s.key, s.value);
    }
    Ok(EnvState {
        environment: env.to_string(),
        current,
    })
}

/// What happened to one write call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "error")]
pub enum OpStatus {
    Applied,
    PendingApproval,
    Failed(String),
    NotAttempted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    CreateFolder,
    Create,
    Update,
    Delete,
}

/// One write call and its result: names only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpResult {
    pub environment: String,
    pub kind: OpKind,
    /// The folder written to (for `create_folder`, the folder created).
    pub folder: String,
    pub keys: Vec<String>,
    #[serde(flatten)]
    pub status: OpStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyOutcome {
    pub ops: Vec<OpResult>,
}

impl ApplyOutcome {
    /// Everything applied (nothing failed, pending or skipped).
    pub fn complete(&self) -> bool {
        self.ops.iter().all(|o| o.status == OpStatus::Applied)
    }

    /// Nothing failed or was skipped, but some writes wait for approval in Infisical.
    pub fn only_pending(&self) -> bool {
        !self.complete()
            && self
                .ops
                .iter()
                .all(|o| matches!(o.status, OpStatus::Applied | OpStatus::PendingApproval))
    }

    /// A summary for people: counts, then every call that did not apply, by name.
    pub fn render(&self) -> String {
        let n = |f: &dyn Fn(&OpStatus) -> bool| self.ops.iter().filter(|o| f(&o.status)).count();
        let mut s = format!(
            "applied {} call(s), {} pending approval, {} failed, {} not attempted\n",
            n(&|s| *s == OpStatus::Applied),
            n(&|s| *s == OpStatus::PendingApproval),
            n(&|s| matches!(s, OpStatus::Failed(_))),
            n(&|s| *s == OpStatus::NotAttempted),
        );
        for o in &self.ops {
            let what = match &o.status {
                OpStatus::Applied => continue,
                OpStatus::PendingApproval => {
                    "pending approval (not written until approved)".to_string()
                }
                OpStatus::Failed(e) => format!("FAILED: {e}"),
                OpStatus::NotAttempted => "not attempted".to_string(),
            };
            let target = if o.kind == OpKind::CreateFolder {
                format!("folder {}", o.folder)
            } else {
                o.keys
                    .iter()
                    .map(|k| join(&o.folder, k))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(s, "  {}: {:?} {target}: {what}", o.environment, o.kind);
        }
        s
    }
}

/// How many write calls `plan` needs (for the progress bar).
pub fn call_count(plan: &EnvPlan) -> usize {
    let folders = plan::folder_create_calls(&plan.folders_to_create).len();
    let batches: usize = plan
        .write_folders()
        .iter()
        .map(|f| {
            [Action::Create, Action::Update, Action::Delete]
                .iter()
                .filter(|a| !plan.keys(f, **a).is_empty())
                .count()
        })
        .sum();
    folders + batches
}

/// Whether an error means the connection or the identity is gone, so the rest would fail too.
fn fatal(e: &InfisicalError) -> bool {
    matches!(
        e,
        InfisicalError::Transport { .. } | InfisicalError::Login { .. } | InfisicalError::Tls(_)
    )
}

/// Applies one environment's plan. Never fails as a whole: the outcome says what did and did not
/// happen. `tick` is called after each write call.
pub fn apply(
    client: &mut Client,
    plan: &EnvPlan,
    seed: &Seed,
    tick: &mut dyn FnMut(),
) -> ApplyOutcome {
    let env = plan.environment.as_str();
    let mut out = ApplyOutcome::default();
    let mut stop = false;
    let mut failed_folders: Vec<String> = Vec::new();
    for (parent, name) in plan::folder_create_calls(&plan.folders_to_create) {
        let folder = join(&parent, &name);
        let status = if stop {
            OpStatus::NotAttempted
        } else {
            match client.create_folder(env, &parent, &name) {
                Ok(()) => OpStatus::Applied,
                Err(e) => {
                    stop = fatal(&e);
                    failed_folders.push(folder.clone());
                    OpStatus::Failed(e.to_string())
                }
            }
        };
        if status == OpStatus::NotAttempted {
            failed_folders.push(folder.clone());
        }
        out.ops.push(OpResult {
            environment: env.to_string(),
            kind: OpKind::CreateFolder,
            folder,
            keys: vec![],
            status,
        });
        tick();
    }
    // A folder whose creation failed (or a new parent of one) cannot take secrets; the batch
    // would only 404.
    let under_failed = |f: &str| {
        failed_folders.iter().any(|x| {
            f == x
                || f.starts_with(&format!("{x}/"))
                || (plan.folders_to_create.iter().any(|n| n == f)
                    && x.starts_with(&format!("{f}/")))
        })
    };
    let empty = BTreeMap::new();
    for folder in plan.write_folders() {
        let values = seed.folders.get(folder).unwrap_or(&empty);
        for (action, op, kind) in [
            (Action::Create, BatchOp::Create, OpKind::Create),
            (Action::Update, BatchOp::Update, OpKind::Update),
            (Action::Delete, BatchOp::Delete, OpKind::Delete),
        ] {
            let keys = plan.keys(folder, action);
            if keys.is_empty() {
                continue;
            }
            let status = if stop || (op != BatchOp::Delete && under_failed(folder)) {
                OpStatus::NotAttempted
            } else {
                let entries: Vec<BatchEntry<'_>> = keys
                    .iter()
                    .map(|k| BatchEntry {
                        key: k,
                        value: values.get(*k),
                    })
                    .collect();
                match client.batch(op, env, folder, &entries) {
                    Ok(WriteOutcome::Applied) => OpStatus::Applied,
                    Ok(WriteOutcome::PendingApproval) => OpStatus::PendingApproval,
                    Err(e) if op == BatchOp::Create && already_exists(&e) => {
                        // Another writer (or a timed-out first attempt that did commit) got
                        // there first: re-read the folder and finish the job (§12).
                        match converge_after_conflict(client, env, folder, &keys, values) {
                            Ok(s) => s,
                            Err(e) => {
                                stop = fatal(&e);
                                OpStatus::Failed(e.to_string())
                            }
                        }
                    }
                    Err(e) if op == BatchOp::Delete && missing_key(&e) => {
                        // A retried delete whose first attempt did land, or a racing writer:
                        // done if the keys are gone, else delete what remains once.
                        match converge_after_missing(client, env, folder, &keys) {
                            Ok(s) => s,
                            Err(e) => {
                                stop = fatal(&e);
                                OpStatus::Failed(e.to_string())
                            }
                        }
                    }
                    Err(e) => {
                        stop = fatal(&e);
                        OpStatus::Failed(e.to_string())
                    }
                }
            };
            out.ops.push(OpResult {
                environment: env.to_string(),
                kind,
                folder: folder.to_string(),
                keys: keys.iter().map(|k| k.to_string()).collect(),
                status,
            });
            tick();
        }
    }
    out
}

fn already_exists(e: &InfisicalError) -> bool {
    matches!(e, InfisicalError::Http { status: 400, message, .. } if message.contains("already exist"))
}

fn missing_key(e: &InfisicalError) -> bool {
    matches!(e, InfisicalError::Http { status: 404, message, .. } if message.contains("does not exist"))
}

fn converge_after_missing(
    client: &mut Client,
    env: &str,
    folder: &str,
    keys: &[&str],
) -> Result<OpStatus> {
    let present: BTreeSet<String> = client
        .list_secrets(env, folder)?
        .into_iter()
        .filter(|s| s.folder == folder)
        .map(|s| s.key)
        .collect();
    let left: Vec<BatchEntry<'_>> = keys
        .iter()
        .filter(|k| present.contains(**k))
        .map(|k| BatchEntry {
            key: k,
            value: None,
        })
        .collect();
    if left.is_empty() {
        return Ok(OpStatus::Applied);
    }
    Ok(match client.batch(BatchOp::Delete, env, folder, &left)? {
        WriteOutcome::Applied => OpStatus::Applied,
        WriteOutcome::PendingApproval => OpStatus::PendingApproval,
    })
}

/// After a create batch was refused because some key exists: re-list the folder, create what is
/// still missing and update what differs — each at most once.
fn converge_after_conflict(
    client: &mut Client,
    env: &str,
    folder: &str,
    keys: &[&str],
    values: &BTreeMap<String, crate::secret::SecretBytes>,
) -> Result<OpStatus> {
    let mut cur = Current::default();
    for s in client.list_secrets(env, folder)? {
        if s.folder == folder {
            cur.secrets
                .entry(s.folder)
                .or_default()
                .insert(s.key, s.value);
        }
    }
    let mut sub = Seed::default();
    for k in keys {
        if let Some(v) = values.get(*k) {
            sub.insert(folder, k, v.clone());
        }
    }
    cur.folders.insert(folder.to_string());
    let p = plan::compute(env, &sub, &cur, false)?;
    let mut status = OpStatus::Applied;
    for (action, op) in [
        (Action::Create, BatchOp::Create),
        (Action::Update, BatchOp::Update),
    ] {
        let ks = p.keys(folder, action);
        if ks.is_empty() {
            continue;
        }
        let entries: Vec<BatchEntry<'_>> = ks
            .iter()
            .map(|k| BatchEntry {
                key: k,
                value: values.get(*k),
            })
            .collect();
        if client.batch(op, env, folder, &entries)? == WriteOutcome::PendingApproval {
            status = OpStatus::PendingApproval;
        }
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infisical::plan::RemoteValue;

    #[test]
    fn outcome_json_shape() {
        let op = |status| OpResult {
            environment: "dev".into(),
            kind: OpKind::Create,
            folder: "/db".into(),
            keys: vec!["PASSWORD".into()],
            status,
        };
        let v = serde_json::to_value(op(OpStatus::Applied)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"environment":"dev","kind":"create","folder":"/db","keys":["PASSWORD"],"status":"applied"})
        );
        let v = serde_json::to_value(op(OpStatus::Failed("POST /api/x: HTTP 400".into()))).unwrap();
        assert_eq!(v["status"], "failed");
        assert_eq!(v["error"], "POST /api/x: HTTP 400");
        let o = ApplyOutcome {
            ops: vec![op(OpStatus::Applied), op(OpStatus::PendingApproval)],
        };
        assert!(!o.complete() && o.only_pending());
    }

    #[test]
    fn call_count_matches_the_calls_apply_makes() {
        let mut seed = Seed::default();
        seed.insert("/a/b", "K", crate::secret::SecretBytes::from_str("v"));
        seed.insert("/", "R", crate::secret::SecretBytes::from_str("v"));
        let mut cur = Current::default();
        cur.secrets.entry("/".into()).or_default().insert(
            "R".into(),
            RemoteValue::Known(crate::secret::SecretBytes::from_str("old")),
        );
        cur.secrets.entry("/".into()).or_default().insert(
            "GONE".into(),
            RemoteValue::Known(crate::secret::SecretBytes::from_str("x")),
        );
        let p = plan::compute("dev", &seed, &cur, true).unwrap();
        // One folder call (/a/b makes /a), create in /a/b, update and delete in /.
        assert_eq!(call_count(&p), 4);
    }
}
