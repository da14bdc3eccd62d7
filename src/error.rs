//! The top-level error: what a command failed at, where (file, cluster), and what to do. Each
//! layer's error converts into it; variants never hold a secret value.

use crate::sops::SopsError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A SOPS operation on one file failed; exit code is sops's.
    #[error("{}: {source}", file.display())]
    Sops {
        file: PathBuf,
        #[source]
        source: SopsError,
    },
    /// Bad usage or input that is not a file's fault.
    #[error("{0}")]
    Usage(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] crate::fsutil::WriteError),
    /// Findings that make the command fail (check --, reseal --check): exit 1.
    #[error("{0}")]
    Findings(String),
    /// Talking to Infisical or preparing its seeds failed (`seed-infisical`).
    #[error(transparent)]
    Infisical(#[from] crate::infisical::InfisicalError),
    /// Stdout was closed by the reader (`| head`): a quiet success.
    #[error("broken pipe")]
    BrokenPipe,
}

impl Error {
    pub fn sops(file: impl Into<PathBuf>, source: SopsError) -> Self {
        Error::Sops {
            file: file.into(),
            source,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Sops { source, .. } => source.exit_code(),
            Error::Usage(_) => 2,
            Error::Io { .. } | Error::Write(_) => 2,
            Error::Findings(_) => 1,
            Error::Infisical(e) => e.exit_code(),
            Error::BrokenPipe => 0,
        }
    }

    /// What the user can do about it, where we know.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Sops { source, .. } => match source {
                SopsError::NoDataKey(_) => Some(
                    "make an age identity for one of the recipients above available: SOPS_AGE_KEY_FILE=path/to/keys.txt, SOPS_AGE_KEY, or ~/.config/sops/age/keys.txt".into(),
                ),
                SopsError::Mac(_) => Some(
                    "the file changed outside sops or is corrupt: restore it from git (git checkout -- FILE); --ignore-mac decrypts anyway if you trust it".into(),
                ),
                SopsError::DecryptValue { .. } => Some(
                    "a value was altered or moved to another key: restore the file from git".into(),
                ),
                SopsError::MetadataNotFound => Some(
                    "this file is not SOPS-encrypted (no sops metadata); encrypt it with `overworld-secrets encrypt -i FILE`".into(),
                ),
                _ => None,
            },
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Error::BrokenPipe
        } else {
            Error::Io {
                path: PathBuf::from("<stdio>"),
                source: e,
            }
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
