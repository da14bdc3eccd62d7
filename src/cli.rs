//! What the user types: clap definitions only. Behaviour lives in `commands/`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const ABOUT: &str =
    "The bootstrap-secret boundary of a GitOps Kubernetes cluster: SOPS-encrypted sources in git, \
SealedSecrets for each cluster, Infisical seeding and ExternalSecrets — without plaintext on disk.";

const AFTER_HELP: &str = "\
Identities for decryption are found the way sops finds them: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE,
SOPS_AGE_KEY_CMD, SOPS_AGE_SSH_PRIVATE_KEY_FILE, ~/.ssh/id_ed25519, ~/.ssh/id_rsa and
$XDG_CONFIG_HOME/sops/age/keys.txt (default ~/.config/sops/age/keys.txt).

Exit codes of encrypt/decrypt/filestatus are sops's (e.g. 128 no usable key, 51 MAC mismatch,
25 value does not decrypt, 203 already encrypted); see README.md for the full table.";

#[derive(Debug, Parser)]
#[command(name = "overworld-secrets", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// Use this overworld-secrets.yaml instead of searching from the working directory upward.
    #[arg(
        long,
        global = true,
        env = "OVERWORLD_SECRETS_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,

    /// Use this .sops.yaml instead of searching from the working directory upward.
    #[arg(
        long = "sops-config",
        global = true,
        env = "SOPS_CONFIG",
        value_name = "FILE"
    )]
    pub sops_config: Option<PathBuf>,

    /// Print only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Print more detail (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Machine-readable output on stdout where a command supports it.
    #[arg(long, global = true)]
    pub json: bool,

    /// Never colour output (also honoured: NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Encrypt a plaintext file in the SOPS format (sops-compatible).
    ///
    /// Recipients and the selection rule come from the first matching creation rule of
    /// .sops.yaml (searched from the working directory upward), unless --age is given.
    ///
    /// Example: overworld-secrets encrypt -i secrets/demo/minio.yaml
    Encrypt(EncryptArgs),
    /// Decrypt a SOPS file and verify its MAC (sops-compatible).
    ///
    /// Example: overworld-secrets decrypt --extract '["data"]["password"]' secrets/demo/minio.yaml
    Decrypt(DecryptArgs),
    /// Print {"encrypted":true} or {"encrypted":false} for a file (sops-compatible).
    Filestatus(FilestatusArgs),
    /// Edit a SOPS file in $SOPS_EDITOR / $EDITOR (sops-compatible).
    ///
    /// A file that does not exist yet is created with the matching .sops.yaml rule.
    /// Unchanged values keep their ciphertext byte for byte, so git diffs stay small. The
    /// plaintext lives only in a 0600 file inside a 0700 temp dir, removed on every exit path.
    ///
    /// Example: overworld-secrets edit secrets/demo/minio.yaml
    Edit(EditArgs),
    /// Set one value, given as JSON (sops-compatible).
    ///
    /// Example: overworld-secrets set secrets/demo/minio.yaml '["data"]["password"]' '"hunter2"'
    Set(SetArgs),
    /// Remove one key or list item (sops-compatible).
    ///
    /// Example: overworld-secrets unset secrets/demo/minio.yaml '["data"]["old"]'
    Unset(UnsetArgs),
    /// Re-wrap data keys to the keys .sops.yaml demands (files or folders).
    ///
    /// Every SOPS file under a folder that a creation rule matches is updated at once.
    ///
    /// Values, MAC and lastmodified are untouched. Key-group and shamir_threshold changes in the
    /// rule take effect (new shares), unlike sops. Asks once for all files unless --yes.
    ///
    /// Example: overworld-secrets updatekeys --yes secrets/
    Updatekeys(UpdatekeysArgs),
    /// New data key, every value re-encrypted (sops-compatible; --add-age/--rm-age).
    ///
    /// Example: overworld-secrets rotate -i --rm-age age1… secrets/demo/minio.yaml
    Rotate(RotateArgs),
    /// Run a command with the file's values in its environment.
    ///
    /// Example: overworld-secrets exec-env secrets/app.env -- ./deploy.sh
    ExecEnv(ExecEnvArgs),
    /// Run a command with the decrypted file at a temporary path.
    ///
    /// {} in the command stands for the path; the file is removed afterwards.
    ///
    /// Example: overworld-secrets exec-file secrets/kubeconfig.yaml -- kubectl --kubeconfig {} get pods
    ExecFile(ExecFileArgs),
    /// Seal a cluster's SOPS sources into SealedSecrets (the main job).
    ///
    /// Idempotent: an item keeps its ciphertext unless its value, scope, name, namespace or the
    /// certificate changed, so a re-run with nothing changed changes no byte. Without --cluster,
    /// every configured cluster.
    ///
    /// Example: SOPS_AGE_KEY_FILE=keys/demo/TEST-ONLY-age.agekey overworld-secrets reseal --cluster demo
    Reseal(ResealArgs),
    /// The CI check of a repository's secrets (decrypt, MAC, recipients, leaks, staleness).
    ///
    /// SOPS files decrypt and their MACs verify, recipients match .sops.yaml, nothing plaintext or
    /// private is committed, generated manifests are current. Works in any repository with a .sops.yaml; with overworld-secrets.yaml it also checks the
    /// clusters' sources and generated manifests. Exit 0 clean, 1 findings, 2 usage/IO error.
    ///
    /// Example (CI): SOPS_AGE_KEY="$CI_AGE_KEY" overworld-secrets check --require-decrypt --format github
    Check(CheckArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// Example: overworld-secrets completions bash > ~/.local/share/bash-completion/completions/overworld-secrets
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    ///
    /// Example: overworld-secrets man | man -l -
    Man,
}

/// Options shared by commands that read and write SOPS stores.
#[derive(Debug, Args, Clone, Default)]
pub struct StoreArgs {
    /// Store of the input: yaml, json, dotenv, ini or binary (default: from the file extension).
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
    /// Store of the output (default: the input's).
    #[arg(long, value_name = "TYPE")]
    pub output_type: Option<String>,
    /// Name used for store detection and .sops.yaml matching (required with stdin for encrypt).
    #[arg(long, value_name = "NAME")]
    pub filename_override: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// File to encrypt; `-` or nothing reads stdin.
    pub file: Option<PathBuf>,
    /// Age recipients, comma-separated (overrides .sops.yaml). Also SOPS_AGE_RECIPIENTS.
    #[arg(
        short = 'a',
        long,
        env = "SOPS_AGE_RECIPIENTS",
        value_name = "RECIPIENTS"
    )]
    pub age: Option<String>,
    /// Write to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace the input file with its encryption (atomically).
    #[arg(short = 'i', long)]
    pub in_place: bool,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Encrypt only values whose key path has a key matching this regex.
    #[arg(long, value_name = "REGEX", group = "selection")]
    pub encrypted_regex: Option<String>,
    /// Leave values whose key path has a key matching this regex unencrypted.
    #[arg(long, value_name = "REGEX", group = "selection")]
    pub unencrypted_regex: Option<String>,
    /// Encrypt only values whose key path has a key ending in this suffix.
    #[arg(long, value_name = "SUFFIX", group = "selection")]
    pub encrypted_suffix: Option<String>,
    /// Leave values whose key path has a key ending in this suffix unencrypted (default _unencrypted).
    #[arg(long, value_name = "SUFFIX", group = "selection")]
    pub unencrypted_suffix: Option<String>,
    /// Number of key groups needed to decrypt (Shamir), with key_groups in .sops.yaml.
    #[arg(long = "shamir-secret-sharing-threshold", value_name = "N")]
    pub shamir_threshold: Option<usize>,
}

#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// File to decrypt; `-` or nothing reads stdin.
    pub file: Option<PathBuf>,
    /// Print only this part of the tree, in sops path syntax: '["data"]["password"]' or '["list"][0]'.
    #[arg(long, value_name = "PATH")]
    pub extract: Option<String>,
    /// Write to this file (atomically, mode 0600 when new) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace the encrypted file with its plaintext. Rarely what you want.
    #[arg(short = 'i', long)]
    pub in_place: bool,
    /// Decrypt even if the MAC does not verify (the values may have been tampered with).
    #[arg(long)]
    pub ignore_mac: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct FilestatusArgs {
    pub file: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum, Default)]
pub enum CheckFormat {
    /// A readable report grouped by file.
    #[default]
    Human,
    /// JSON for tools.
    Json,
    /// GitHub Actions workflow annotations.
    Github,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check only this cluster's sources and manifests.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Fail when no identity is available to decrypt and verify MACs (use in CI).
    #[arg(long)]
    pub require_decrypt: bool,
    /// Fail on warnings too.
    #[arg(long)]
    pub strict: bool,
    /// Also allow key material / plaintext Secrets under this path prefix (repeatable).
    #[arg(long, value_name = "PREFIX")]
    pub allow: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ResealArgs {
    /// Only this cluster (default: all clusters in overworld-secrets.yaml).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Sealing certificate (PEM file or file:// URL) instead of the cluster's configured one.
    #[arg(long, value_name = "FILE|URL", env = "SEALED_SECRETS_CERT")]
    pub cert: Option<String>,
    /// Change nothing; list what is stale and exit 1 if anything is.
    #[arg(long)]
    pub check: bool,
    /// Delete SealedSecrets whose source is gone.
    #[arg(long)]
    pub prune: bool,
    /// Reseal every item, even unchanged ones.
    #[arg(long)]
    pub force: bool,
    /// Seal with an expired certificate (kubeseal refuses; the controller does not care).
    #[arg(long)]
    pub allow_expired: bool,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    pub file: PathBuf,
    /// Age recipients for a new file, comma-separated (overrides .sops.yaml).
    #[arg(
        short = 'a',
        long,
        env = "SOPS_AGE_RECIPIENTS",
        value_name = "RECIPIENTS"
    )]
    pub age: Option<String>,
    /// Open even if the MAC does not verify.
    #[arg(long)]
    pub ignore_mac: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    pub file: PathBuf,
    /// Where, in sops path syntax: '["data"]["password"]' or '["list"][0]'.
    pub path: String,
    /// The value as JSON ('"text"', 5, true, {"a": 1}); or use --value-file / --value-stdin.
    #[arg(required_unless_present_any = ["value_file", "value_stdin"])]
    pub value: Option<String>,
    /// Read the JSON value from this file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["value", "value_stdin"])]
    pub value_file: Option<PathBuf>,
    /// Read the JSON value from stdin.
    #[arg(long, conflicts_with = "value")]
    pub value_stdin: bool,
    /// Do not write the file when the value is already set.
    #[arg(long)]
    pub idempotent: bool,
    #[arg(long)]
    pub ignore_mac: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct UnsetArgs {
    pub file: PathBuf,
    /// Where, in sops path syntax: '["data"]["old"]' or '["list"][0]'.
    pub path: String,
    /// Succeed without writing when the key is already absent.
    #[arg(long)]
    pub idempotent: bool,
    #[arg(long)]
    pub ignore_mac: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct UpdatekeysArgs {
    /// Files, or folders whose SOPS files matching a creation rule are all updated.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Number of key groups needed to decrypt (overrides the rule and the file).
    #[arg(long = "shamir-secret-sharing-threshold", value_name = "N")]
    pub shamir_threshold: Option<usize>,
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write the result over each file (atomically) instead of stdout.
    #[arg(short = 'i', long)]
    pub in_place: bool,
    /// Add these age recipients (comma-separated) to the first key group.
    #[arg(long, value_name = "RECIPIENTS")]
    pub add_age: Option<String>,
    /// Remove these age recipients (comma-separated) from every key group.
    #[arg(long, value_name = "RECIPIENTS")]
    pub rm_age: Option<String>,
    #[arg(long)]
    pub ignore_mac: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ExecEnvArgs {
    pub file: PathBuf,
    /// The command: one argument runs through /bin/sh -c (as sops); several run directly.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// Give the command only the decrypted values, not the current environment.
    #[arg(long)]
    pub pristine: bool,
    #[arg(long)]
    pub ignore_mac: bool,
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExecFileArgs {
    pub file: PathBuf,
    /// The command, with {} standing for the temporary file's path.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// Use a regular 0600 file instead of a FIFO.
    #[arg(long)]
    pub no_fifo: bool,
    /// Name of the temporary file (default tmp-file).
    #[arg(long, value_name = "NAME", default_value = "tmp-file")]
    pub filename: String,
    #[arg(long)]
    pub ignore_mac: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}
