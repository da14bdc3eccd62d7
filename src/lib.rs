//! overworld-secrets: the bootstrap-secret boundary of a GitOps Kubernetes cluster.
//!
//! The library holds everything; `main.rs` only parses arguments and maps errors to exit codes.

pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod external_secrets;
pub mod fsutil;
pub mod infisical;
pub mod kube;
pub mod onboard;
pub mod output;
pub mod par;
pub mod reseal;
pub mod sealed;
pub mod secret;
pub mod sops;

pub use error::{Error, Result};

/// Runs a parsed command line.
pub fn run(cli: cli::Cli) -> Result<()> {
    commands::run(cli)
}
