//! The one integration-test binary (`[[test]] name = "integration"`, STYLE.md "Tests"): every suite is
//! a module here, so the crate and its dependencies are linked once.
//!
//! It exists to test the built `overworld-secrets` binary from the outside, against the real peer
//! tools (`sops`, the sealed-secrets oracles), as a user would run it. It must never skip a check
//! because an oracle is missing: `scripts/test.sh` installs them, and their absence is a failure.

mod check;
mod cli;
mod cluster;
mod crd_schemas;
mod external_secrets;
mod hardening;
mod infisical;
mod lifecycle;
mod onboard;
mod reseal;
mod sops_contract;
mod sops_interop;
mod sops_proptest;
mod util;
