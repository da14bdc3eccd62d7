//! The SOPS file format, natively (SOPS.md): stores, value cipher, MAC, metadata, data key
//! wrapping with age, Shamir key groups and `.sops.yaml` rules.
//!
//! This module knows nothing of Kubernetes, clusters or the network. It never logs or returns a
//! plaintext value in an error.

pub mod format;
pub mod tree;
