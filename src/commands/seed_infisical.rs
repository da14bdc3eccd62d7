//! `seed-infisical`: decrypt `secrets/infisical/<env>.yaml`, show the plan against the server, ask,
//! apply with batch calls, revoke the token (issue 5, INFISICAL.md §7). Thin: the decisions live in
//! `crate::infisical`. It must never write without consent (a prompt on a terminal, `--yes`
//! otherwise) and never print a value: the plan and the result carry names only.

use super::Ctx;
use crate::cli::{InfisicalCommand, InfisicalConnArgs, SeedInfisicalArgs};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::infisical::apply::{self, ApplyOutcome};
use crate::infisical::client::{ClientOptions, Credentials, RetryPolicy};
use crate::infisical::config::{CredentialsSource, InfisicalConfig};
use crate::infisical::plan::{self, EnvPlan};
use crate::infisical::{Client, InfisicalError, Seed};
use crate::secret::SecretBytes;
use crate::sops::format::Format;
use crate::sops::keys::Identities;
use crate::sops::tree::{Node, Scalar};
use crate::sops::{engine, path, SopsError};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

/// Environment variables, named as the Infisical CLI names them.
pub const ENV_CLIENT_ID: &str = "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID";
pub const ENV_CLIENT_SECRET: &str = "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET";
pub const ENV_API_URL: &str = "INFISICAL_API_URL";

/// A command's own check of the decrypted seeds, run before any request.
pub(crate) type SeedCheck<'a> = dyn Fn(&[(String, Seed)]) -> Result<()> + 'a;

/// A logged-in conversation with Infisical plus everything read locally to start it.
pub(crate) struct Session {
    pub cfg: Config,
    pub icfg: InfisicalConfig,
    /// The environments acted on (`--env`, or all configured).
    pub envs: Vec<String>,
    /// Seeds of `envs`, decrypted (empty when not asked for).
    pub seeds: Vec<(String, Seed)>,
    pub client: Client,
}

/// Reads config, seeds (if `with_seeds`) and credentials — every local failure before any
/// request — then logs in. The caller must end with [`finish`] so the token is revoked.
pub(crate) fn open(
    ctx: &Ctx,
    conn: &InfisicalConnArgs,
    with_seeds: bool,
    check_seeds: &SeedCheck<'_>,
) -> Result<Session> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let cfg =
        Config::find(&cwd, conn.config.as_deref()).map_err(|e| Error::Usage(e.to_string()))?;
    let section = cfg.infisical.as_ref().ok_or_else(|| {
        Error::Usage(format!(
            "{}: no `infisical:` section (host, project, environments); see README.md",
            cfg.path.display()
        ))
    })?;
    let icfg = InfisicalConfig::from_value(&cfg.root, section)
        .map_err(|e| Error::Usage(format!("{}: {e}", cfg.path.display())))?;
    let envs: Vec<String> = match &conn.env {
        Some(e) if icfg.environments.contains(e) => vec![e.clone()],
        Some(e) => {
            return Err(Error::Usage(format!(
                "environment {e:?} is not in the config's infisical.environments ({})",
                icfg.environments.join(", ")
            )))
        }
        None => icfg.environments.clone(),
    };
    let host = std::env::var(ENV_API_URL)
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| icfg.host.clone())
        .ok_or_else(|| {
            Error::Usage(format!(
                "no Infisical host: set infisical.host in the config or {ENV_API_URL}"
            ))
        })?;
    // A plain-http or malformed host is a usage error: say so before decrypting anything.
    crate::infisical::client::api_base(&host, conn.insecure)?;

    let ids = std::cell::OnceCell::new();
    let identities = || -> Result<&Identities> {
        if ids.get().is_none() {
            let loaded = super::load_identities(ctx)
                .map_err(|e| Error::sops("<identities>", SopsError::Keys(e)))?;
            let _ = ids.set(loaded);
        }
        Ok(ids.get().expect("set above"))
    };
    let mut seeds = Vec::new();
    if with_seeds {
        for env in &envs {
            let file = icfg.seed_file(env);
            let shown = cfg.display_path(&file).to_string();
            let tree = decrypt_file(&file, identities()?)?;
            seeds.push((env.clone(), Seed::from_tree(&shown, &tree)?));
        }
    }
    check_seeds(&seeds)?;
    let creds = credentials(&cfg, icfg.credentials.as_ref(), identities)?;

    if conn.insecure {
        ctx.printer.warn(
            "--insecure: the server's certificate is NOT verified; anyone on the path can read the client secret and every value",
        );
    }
    let ca_pem = match &conn.ca_cert {
        Some(p) => Some(std::fs::read(p).map_err(|e| Error::io(p, e))?),
        None => None,
    };
    let opts = ClientOptions {
        host,
        ca_pem,
        ca_only: conn.ca_cert_only,
        insecure: conn.insecure,
        timeout: Duration::from_secs(conn.timeout.max(1)),
        retry: RetryPolicy::default(),
    };
    let mut client = Client::new(&opts, creds)?;
    client.login()?;
    Ok(Session {
        cfg,
        icfg,
        envs,
        seeds,
        client,
    })
}

/// Revokes the token whatever `result` is (INFISICAL.md §2.3), then passes `result` on.
pub(crate) fn finish<T>(ctx: &Ctx, s: &mut Session, result: Result<T>) -> Result<T> {
    if let Err(e) = s.client.revoke() {
        ctx.printer
            .warn(&format!("could not revoke the access token: {e}"));
    }
    result
}

pub fn run(ctx: &Ctx, a: SeedInfisicalArgs) -> Result<()> {
    // An empty (or emptied) seed with --prune would wipe the environment: refuse outright.
    let prune_guard = |seeds: &[(String, Seed)]| {
        match seeds.iter().find(|(_, seed)| a.prune && seed.keys().is_empty()) {
            Some((env, _)) => Err(Error::Usage(format!(
                "the {env} seed holds no secrets; refusing --prune, which would delete everything in {env}"
            ))),
            None => Ok(()),
        }
    };
    let mut s = open(ctx, &a.conn, true, &prune_guard)?;
    let result = plan_and_apply(ctx, &a, &mut s);
    finish(ctx, &mut s, result)
}

/// `infisical diff` / `infisical pull`.
pub fn run_infisical(ctx: &Ctx, c: InfisicalCommand) -> Result<()> {
    match c {
        InfisicalCommand::Diff(a) => super::infisical_diff::run(ctx, a),
        InfisicalCommand::Pull(a) => super::infisical_pull::run(ctx, a),
    }
}

/// Resolves the project and plans every environment of the session.
pub(crate) fn plans(ctx: &Ctx, s: &mut Session, prune: bool) -> Result<Vec<EnvPlan>> {
    let project = s.client.resolve_project(&s.icfg.project)?;
    ctx.printer.detail(&format!(
        "project {} ({}), API {:?}",
        project.slug,
        project.id,
        s.client.generation()
    ));
    let mut plans: Vec<EnvPlan> = Vec::new();
    for (env, seed) in &s.seeds {
        let state = apply::read_state(&mut s.client, &project, env, seed)?;
        plans.push(plan::compute(env, seed, &state.current, prune)?);
    }
    Ok(plans)
}

fn plan_and_apply(ctx: &Ctx, a: &SeedInfisicalArgs, s: &mut Session) -> Result<()> {
    let plans = plans(ctx, s, a.prune)?;
    let (icfg, client, seeds) = (&s.icfg, &mut s.client, &s.seeds);
    let writes = plans.iter().any(EnvPlan::has_writes);
    if !ctx.printer.json && !ctx.printer.quiet {
        crate::output::stdout_write(
            plan::render(&icfg.project, &plans, ctx.printer.verbose > 0).as_bytes(),
        )?;
    }
    if !writes || a.dry_run {
        if ctx.printer.json {
            print_json(icfg, client, &plans, a.dry_run, None)?;
        } else if !writes {
            ctx.printer.info("nothing to do: Infisical matches git");
        } else {
            ctx.printer.info("dry run: nothing was written");
        }
        return Ok(());
    }
    confirm(a, client.base())?;
    let total: usize = plans.iter().map(apply::call_count).sum();
    let bar = ctx.printer.progress(total as u64, "applying");
    let mut outcome = ApplyOutcome::default();
    for (p, (_, seed)) in plans.iter().zip(seeds) {
        let o = apply::apply(client, p, seed, &mut || bar.inc(1));
        outcome.ops.extend(o.ops);
    }
    bar.finish_and_clear();
    if ctx.printer.json {
        print_json(icfg, client, &plans, false, Some(&outcome))?;
    }
    if outcome.complete() {
        ctx.printer.info(&format!(
            "done: {} write call(s) applied",
            outcome.ops.len()
        ));
        Ok(())
    } else if outcome.only_pending() {
        // Not written yet: a re-run now would file the same change requests again.
        Err(Error::Findings(format!(
            "changes wait for approval in Infisical (nothing written yet); re-run after they are approved or rejected\n{}",
            outcome.render().trim_end()
        )))
    } else {
        // A re-run re-reads and re-diffs, so it converges on whatever did not land.
        Err(Error::Findings(format!(
            "Infisical was only partly updated; re-run to converge\n{}",
            outcome.render().trim_end()
        )))
    }
}

pub(crate) fn print_json(
    icfg: &InfisicalConfig,
    client: &Client,
    plans: &[EnvPlan],
    dry_run: bool,
    outcome: Option<&ApplyOutcome>,
) -> Result<()> {
    let doc = serde_json::json!({
        "project": icfg.project,
        "api": client.generation(),
        "dry_run": dry_run,
        "plan": plans,
        "result": outcome.map(|o| serde_json::json!({
            "complete": o.complete(),
            "ops": o.ops,
        })),
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("plain data");
    text.push('\n');
    Ok(crate::output::stdout_write(text.as_bytes())?)
}

/// Consent: `--yes`, or a `y` typed on a terminal. Without a terminal and without `--yes`,
/// refuse — a script must say so explicitly.
fn confirm(a: &SeedInfisicalArgs, target: &str) -> Result<()> {
    if a.yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::Usage(
            "refusing to write to Infisical without confirmation: stdin is not a terminal; pass --yes (or --dry-run)".into(),
        ));
    }
    eprint!("Apply this plan to {target}? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::io("<stdin>", e))?;
    if matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(Error::Findings("aborted: nothing was written".into()))
    }
}

pub(crate) fn decrypt_file(file: &Path, ids: &Identities) -> Result<crate::sops::tree::Tree> {
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let enc = engine::load(Format::from_path(file), &bytes).map_err(|e| Error::sops(file, e))?;
    let dec = engine::decrypt(&enc, ids, false).map_err(|e| Error::sops(file, e))?;
    Ok(dec.tree)
}

/// Env vars first (as the Infisical CLI names them), then the configured SOPS file.
fn credentials<'a>(
    cfg: &Config,
    src: Option<&CredentialsSource>,
    identities: impl FnOnce() -> Result<&'a Identities>,
) -> Result<Credentials> {
    let id = std::env::var(ENV_CLIENT_ID).ok().filter(|s| !s.is_empty());
    let secret = std::env::var(ENV_CLIENT_SECRET)
        .ok()
        .filter(|s| !s.is_empty());
    if let (Some(id), Some(secret)) = (id, secret) {
        return Ok(Credentials::new(id, SecretBytes::from(secret)));
    }
    let Some(src) = src else {
        return Err(Error::Usage(format!(
            "no Infisical credentials: set {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}, or infisical.credentials in {}",
            cfg.path.display()
        )));
    };
    let tree = decrypt_file(&src.file, identities()?)?;
    let shown = cfg.display_path(&src.file).to_string();
    let get = |steps: &[path::Step], field: &str| -> Result<SecretBytes> {
        match path::get(&tree, steps) {
            Ok(Node::Scalar(Scalar::Str(s))) => Ok(s.clone()),
            Ok(_) => Err(InfisicalError::Config(format!(
                "{shown}: infisical.credentials.{field} does not point at a string"
            ))
            .into()),
            Err(e) => Err(InfisicalError::Config(format!(
                "{shown}: infisical.credentials.{field}: {e}"
            ))
            .into()),
        }
    };
    let id = get(&src.client_id, "client_id")?;
    let secret = get(&src.client_secret, "client_secret")?;
    let id = id
        .as_str()
        .ok_or_else(|| InfisicalError::Config(format!("{shown}: client id is not text")))?
        .to_string();
    Ok(Credentials::new(id, secret))
}
