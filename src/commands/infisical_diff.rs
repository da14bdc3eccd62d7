//! `infisical diff`: what differs between the seeds in git and Infisical, by folder and key name
//! only — the plan `seed-infisical --prune` would make, without writing anything. Exit 1 when
//! anything differs, so scripts and CI can gate on drift. Must never print a value.

use super::seed_infisical::{finish, open, plans, print_json};
use super::Ctx;
use crate::cli::InfisicalDiffArgs;
use crate::error::{Error, Result};
use crate::infisical::plan::{self, EnvPlan};

pub fn run(ctx: &Ctx, a: InfisicalDiffArgs) -> Result<()> {
    let mut s = open(ctx, &a.conn, true, &|_| Ok(()))?;
    let result = diff(ctx, &mut s);
    finish(ctx, &mut s, result)
}

fn diff(ctx: &Ctx, s: &mut super::seed_infisical::Session) -> Result<()> {
    // Deletes of a prune plan are exactly "only in Infisical".
    let plans = plans(ctx, s, true)?;
    if ctx.printer.json {
        print_json(&s.icfg, &s.client, &plans, true, None)?;
    } else if !ctx.printer.quiet {
        crate::output::stdout_write(
            plan::render(&s.icfg.project, &plans, ctx.printer.verbose > 0).as_bytes(),
        )?;
    }
    let differing: Vec<&str> = plans
        .iter()
        .filter(|p| p.has_writes())
        .map(|p: &EnvPlan| p.environment.as_str())
        .collect();
    if differing.is_empty() {
        ctx.printer.info("in sync: Infisical matches git");
        Ok(())
    } else {
        Err(Error::Findings(format!(
            "git and Infisical differ in: {} (`+` only in git, `~` value differs, `-` only in Infisical)",
            differing.join(", ")
        )))
    }
}
