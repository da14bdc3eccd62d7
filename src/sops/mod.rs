//! The SOPS file format, natively (SOPS.md): stores, value cipher, MAC, metadata, data key
//! wrapping with age, Shamir key groups and `.sops.yaml` rules.
//!
//! This module knows nothing of Kubernetes, clusters or the network. It never logs or returns a
//! plaintext value in an error.

pub mod cipher;
pub mod engine;
pub mod error;
pub mod format;
pub mod keys;
pub mod lifecycle;
pub mod metadata;
pub mod path;
pub mod rules;
pub mod tree;
pub mod walk;

pub use engine::{Decrypted, EncryptParams, EncryptedFile};
pub use error::SopsError;
