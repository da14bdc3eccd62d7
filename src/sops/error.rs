//! The SOPS layer's error type, with the exit code sops uses for each failure (SOPS.md §11), so
//! scripts written for sops keep working. Variants carry file names, key paths and positions —
//! never a value.

use crate::sops::format::FormatError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    #[error("sops metadata not found")]
    MetadataNotFound,
    #[error("{0}")]
    Metadata(String),
    #[error("error loading config: {0}")]
    Config(String),
    #[error("Error unmarshalling file: {0}")]
    Unmarshal(FormatError),
    /// An encrypted file that does not parse: sops reports it with exit 1, unlike a plaintext
    /// input (exit 2).
    #[error("Error unmarshalling input file: {0}")]
    LoadEncrypted(FormatError),
    #[error("File cannot be completely empty, it must contain at least one document")]
    Empty,
    #[error("Could not write output file: {0}")]
    Write(String),
    #[error("Error dumping file: {0}")]
    Emit(String),
    #[error("{0}")]
    InvalidSet(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Could not encrypt MAC: {0}")]
    EncryptMac(String),
    #[error("Error encrypting tree: {0}")]
    EncryptTree(String),
    /// A value failed to decrypt (tampered ciphertext, moved value, renamed key, bad envelope).
    #[error("Error decrypting tree: Error walking tree: Could not decrypt value: {reason} (at key path {path})")]
    DecryptValue { path: String, reason: String },
    #[error("{0}")]
    Mac(String),
    #[error("invalid --extract path: {0}")]
    ExtractSyntax(String),
    #[error("error truncating tree: {0}")]
    ExtractMissing(String),
    #[error("{0}")]
    NoDataKey(String),
    #[error("The file you have provided contains a top-level entry called 'sops', or for flat file formats top-level entries starting with 'sops_'. This is generally due to the file already being encrypted. SOPS uses a top-level entry called 'sops' to store the metadata required to decrypt the file. For this reason, SOPS can not encrypt files that already contain such an entry.\n\nIf this is an unencrypted file, rename the 'sops' entry.\n\nIf this is an encrypted file and you want to edit it, use the editor mode, for example: `sops my_file.yaml`")]
    AlreadyEncrypted,
    #[error("cannot operate on non-existent file \"{}\"", .0.display())]
    NoSuchFile(PathBuf),
    #[error("{0}")]
    Keys(String),
    #[error("{0}")]
    Io(String),
    /// `edit`: the plaintext was saved unchanged (sops exit 200).
    #[error("File has not changed, exiting.")]
    FileUnchanged,
    /// `edit`: no editor to run (sops exit 201).
    #[error("{0}")]
    NoEditor(String),
    /// `set`/`unset`/`updatekeys`/`rotate`: the operation cannot apply (sops exit 1).
    #[error("{0}")]
    Edit(String),
    /// `exec-env`/`exec-file`: the child failed; its exit status is ours (SOPS.md §11).
    #[error("exit status {0}")]
    ChildExit(i32),
    /// A signal ended the command after its temporary files were removed (exit 128 + signal).
    #[error("interrupted by signal {0}; temporary files removed, nothing written")]
    Interrupted(i32),
}

impl SopsError {
    /// sops's exit code for this failure (SOPS.md §11).
    pub fn exit_code(&self) -> i32 {
        match self {
            SopsError::MetadataNotFound
            | SopsError::Metadata(_)
            | SopsError::Config(_)
            | SopsError::LoadEncrypted(_) => 1,
            SopsError::Unmarshal(FormatError::Empty) | SopsError::Empty => 92,
            SopsError::Unmarshal(FormatError::Unsupported(_)) => 23,
            SopsError::Unmarshal(_) => 2,
            SopsError::Write(_) => 3,
            SopsError::Emit(_) => 4,
            SopsError::InvalidSet(_) => 7,
            SopsError::Conflict(_) => 8,
            SopsError::EncryptMac(_) => 21,
            SopsError::EncryptTree(_) => 23,
            SopsError::DecryptValue { .. } => 25,
            SopsError::Mac(_) => 51,
            SopsError::ExtractSyntax(_) => 91,
            SopsError::ExtractMissing(_) => 1,
            SopsError::NoDataKey(_) => 128,
            SopsError::AlreadyEncrypted => 203,
            SopsError::NoSuchFile(_) => 100,
            SopsError::Keys(_) => 128,
            SopsError::Io(_) => 2,
            SopsError::FileUnchanged => 200,
            SopsError::NoEditor(_) => 201,
            SopsError::Edit(_) => 1,
            SopsError::ChildExit(c) => *c,
            SopsError::Interrupted(sig) => 128 + sig,
        }
    }
}

impl From<FormatError> for SopsError {
    fn from(e: FormatError) -> Self {
        match e {
            FormatError::Empty => SopsError::Empty,
            FormatError::Emit(m) => SopsError::Emit(m),
            other => SopsError::Unmarshal(other),
        }
    }
}
