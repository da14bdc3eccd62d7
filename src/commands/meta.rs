//! `completions` and `man`: generated from the clap definitions, so they never drift.

use crate::cli::Cli;
use crate::error::Result;
use clap::CommandFactory;

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "overworld-secrets", &mut out);
    Ok(crate::output::stdout_write(&out)?)
}

pub fn man() -> Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(crate::output::stdout_write(&out)?)
}
