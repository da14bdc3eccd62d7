//! overworld-secrets: the bootstrap-secret boundary of a GitOps Kubernetes cluster.
//!
//! The library holds everything; `main.rs` only parses arguments and maps errors to exit codes.

pub mod sealed;
pub mod secret;
pub mod sops;
