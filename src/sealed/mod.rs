//! Sealed Secrets: hybrid encryption, scopes, certificates, the SealedSecret object
//! (SEALED-SECRETS.md). Knows nothing of the cluster or the network.
