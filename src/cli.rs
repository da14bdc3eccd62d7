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
    /// Seal Secret manifests (plain or SOPS-encrypted) for a certificate: a kubeseal replacement.
    ///
    /// Offline: the certificate is --cert FILE|URL or the configured cluster's. Output is YAML
    /// (kubeseal's layout) unless --format json.
    ///
    /// Example: overworld-secrets seal --cert keys/clusters/demo.pem < secret.yaml > secret.sealed.yaml
    Seal(SealArgs),
    /// The CI check of a repository's secrets (decrypt, MAC, recipients, leaks, staleness).
    ///
    /// SOPS files decrypt and their MACs verify, recipients match .sops.yaml, nothing plaintext or
    /// private is committed, generated manifests are current. Works in any repository with a .sops.yaml; with
    /// overworld-secrets.yaml it also checks the clusters' sources and generated manifests. Exit 0 clean, 1 findings, 2 usage/IO error.
    ///
    /// Example (CI): SOPS_AGE_KEY="$CI_AGE_KEY" overworld-secrets check --require-decrypt --format github
    Check(CheckArgs),
    /// Generate ExternalSecrets + the Infisical ClusterSecretStore from `workloads:`.
    ///
    /// Writes manifests/<cluster>/external-secrets/ (one file per workload, the store and a
    /// kustomization.yaml) for every cluster with an `external_secrets:` block. Exit 1 with
    /// --check when the committed files differ from what would be generated.
    ///
    /// Example: overworld-secrets external-secrets --cluster demo --check
    ExternalSecrets(ExternalSecretsArgs),
    /// Fetch the controller's sealing certificate from the cluster.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Back up the controller's sealing keys into the repository, SOPS-encrypted.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Apply what a fresh cluster needs before Flux reconciles (server-side apply).
    ///
    /// The Flux age key, the restored sealing keys and the configured bootstrap Secrets.
    ///
    /// Order: (1) flux-system/sops-age from the SOPS-encrypted age identity, (2) the backed-up
    /// sealing keys into the controller's namespace, labelled active, (3) the bootstrap Secrets
    /// listed in the config. Namespaces are created when missing.
    ///
    /// Example: overworld-secrets bootstrap --cluster demo --dry-run
    Bootstrap(BootstrapArgs),
    /// Show what the cluster made of the repo's SealedSecrets and ExternalSecrets.
    ///
    /// Per object: present or missing, and the Synced (SealedSecret) / Ready (ExternalSecret)
    /// condition with its message. Exit 1 when something is missing or failing.
    ///
    /// Example: overworld-secrets status --cluster demo --json
    Status(ClusterArgs),
    /// Lay out a repository: overworld-secrets.yaml, keys/, secrets/, manifests/, .sops.yaml and an age identity.
    ///
    /// Never overwrites a file. The identity goes where sops looks for it
    /// (~/.config/sops/age/keys.txt) or to --key-file, never into the repository; an existing
    /// .sops.yaml is left alone and the rule to add is printed.
    ///
    /// Example: overworld-secrets init --cluster prod
    Init(InitArgs),
    /// Bring an existing repository's plaintext Secrets and SealedSecrets under SOPS sources.
    ///
    /// Plaintext *.secret.yaml files and unencrypted Secret manifests become SOPS sources under
    /// the cluster's sources folder; with --sealing-key, SealedSecrets without a source are
    /// unsealed offline. Each source is mapped to the SealedSecret file it replaces, so the next
    /// reseal writes the same paths the kustomizations reference (or --move). Prints the plan and
    /// changes nothing until confirmed (--yes).
    ///
    /// Example: overworld-secrets adopt --cluster prod --sealing-key backup.yaml --dry-run
    Adopt(AdoptArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// Example: overworld-secrets completions bash > ~/.local/share/bash-completion/completions/overworld-secrets
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Push the application secrets in secrets/infisical/<env>.yaml into Infisical as a reviewed plan.
    ///
    /// Logs in with Universal Auth (INFISICAL_UNIVERSAL_AUTH_CLIENT_ID/_SECRET, or the `credentials:`
    /// file of the config), shows what it would create / update / delete (names only), asks, then
    /// writes with batch calls. A re-run with nothing changed writes nothing.
    ///
    /// Example: overworld-secrets seed-infisical --env dev --dry-run
    SeedInfisical(SeedInfisicalArgs),
    /// Infisical beyond seeding: diff (git against the server, names only) and pull (adopt).
    #[command(subcommand)]
    Infisical(InfisicalCommand),
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
    /// Sealing certificate (PEM file, file:// or http(s):// URL) instead of the configured one.
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

#[derive(Debug, Clone, Copy, clap::ValueEnum, Default)]
pub enum SealFormat {
    #[default]
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct SealArgs {
    /// Secret manifest(s) to seal; `-` or nothing reads stdin.
    pub file: Option<PathBuf>,
    /// Sealing certificate: PEM file, file:// or http(s):// URL.
    #[arg(long, value_name = "FILE|URL", env = "SEALED_SECRETS_CERT")]
    pub cert: Option<String>,
    /// Use this cluster's certificate from overworld-secrets.yaml.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// strict (default), namespace-wide or cluster-wide; overrides the input's annotations.
    #[arg(long, value_name = "SCOPE", env = "SEALED_SECRETS_SCOPE")]
    pub scope: Option<String>,
    /// Namespace (must match the input's if it has one).
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// With --raw: the Secret's name (strict scope).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Seal one value (stdin or --from-file) and print only its ciphertext.
    #[arg(long)]
    pub raw: bool,
    /// With --raw: read the value from this file.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Add the sealed items to this existing SealedSecret file (its name/namespace win).
    #[arg(long, value_name = "FILE")]
    pub merge_into: Option<PathBuf>,
    #[arg(short = 'o', long, value_enum, default_value_t = SealFormat::Yaml)]
    pub format: SealFormat,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Allow a Secret with no data (encryptedData: {}).
    #[arg(long)]
    pub allow_empty_data: bool,
    /// Seal with an expired certificate.
    #[arg(long)]
    pub allow_expired: bool,
}

#[derive(Debug, Args)]
pub struct ExternalSecretsArgs {
    /// Only this cluster (default: every cluster with an `external_secrets:` block).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Write nothing; exit 1 if the files on disk differ from what would be generated.
    #[arg(long)]
    pub check: bool,
    #[command(subcommand)]
    pub action: Option<ExternalSecretsAction>,
}

#[derive(Debug, Subcommand)]
pub enum ExternalSecretsAction {
    /// Print the `workloads:` config equivalent to the ExternalSecrets in FOLDER (recursively).
    ///
    /// Example: overworld-secrets external-secrets import apps/ > workloads.yaml
    Import {
        /// Folder of existing manifests; every *.yaml / *.yml below it is read.
        folder: PathBuf,
        /// A ClusterSecretStore name that is the Infisical store (secretsPath /); repeatable.
        /// Stores found in FOLDER and the config's stores are known already.
        #[arg(long, value_name = "NAME")]
        infisical_store: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct SeedInfisicalArgs {
    #[command(flatten)]
    pub conn: InfisicalConnArgs,
    /// Show the plan and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete secrets Infisical holds that the seed no longer has.
    #[arg(long)]
    pub prune: bool,
    /// Apply without asking (required when stdin is not a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
}

/// How to reach Infisical and which environments to act on (seed-infisical, infisical …).
#[derive(Debug, Args, Clone)]
pub struct InfisicalConnArgs {
    /// Only this environment (default: every environment in the config).
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Trust this CA (PEM) for the Infisical host, in addition to the system roots.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Trust only --ca-cert, not the system roots.
    #[arg(long, requires = "ca_cert")]
    pub ca_cert_only: bool,
    /// Do not verify the server's certificate (and allow plain http). Dangerous.
    #[arg(long)]
    pub insecure: bool,
    /// Seconds before one HTTP request times out (it is then retried with backoff).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Use this overworld-secrets.yaml instead of searching from the working directory upward.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum InfisicalCommand {
    /// What differs between git and Infisical, by name only; exit 1 when anything does.
    ///
    /// `+` only in git, `~` value differs, `-` only in Infisical, `+ folder` missing folder.
    ///
    /// Example: overworld-secrets infisical diff --env prod
    Diff(InfisicalDiffArgs),
    /// Write what Infisical holds into SOPS seed files, to adopt an existing instance.
    ///
    /// Encrypts with the .sops.yaml rule for the target file; never overwrites without --force.
    ///
    /// Example: overworld-secrets infisical pull --env dev
    Pull(InfisicalPullArgs),
}

#[derive(Debug, Args)]
pub struct InfisicalDiffArgs {
    #[command(flatten)]
    pub conn: InfisicalConnArgs,
}

#[derive(Debug, Args)]
pub struct InfisicalPullArgs {
    #[command(flatten)]
    pub conn: InfisicalConnArgs,
    /// Write here instead of the environment's seed file (only with a single environment).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace an existing seed file.
    #[arg(long)]
    pub force: bool,
}
/// Which cluster, and how to reach it.
#[derive(Debug, Args, Clone, Default)]
pub struct ClusterArgs {
    /// Only this cluster (default: all clusters in overworld-secrets.yaml).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Kubeconfig context to use (default: the cluster's `context:` in the config, else the
    /// kubeconfig's current context). The kubeconfig is KUBECONFIG or ~/.kube/config.
    #[arg(long, value_name = "CTX")]
    pub context: Option<String>,
    /// Give up on an API request after this many seconds (connecting, sending, or waiting for
    /// the answer). A hung API server or proxy otherwise stalls the command forever.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub request_timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Fetch the certificate through the API server's service proxy, as kubeseal does.
    ///
    /// Written atomically to the cluster's `cert` path, only when it changed.
    ///
    /// Example: overworld-secrets cert fetch --cluster demo
    Fetch(ClusterArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write the sealing key Secrets, SOPS-encrypted, to `bootstrap.sealing_keys`.
    ///
    /// One `kind: List` file, encrypted per .sops.yaml, so a rebuilt cluster can restore the keys
    /// instead of resealing everything.
    ///
    /// Example: overworld-secrets keys backup --cluster demo
    Backup(ClusterArgs),
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Show the kinds, names and namespaces that would be applied; contact no cluster.
    #[arg(long)]
    pub dry_run: bool,
    /// Restart a running controller after restoring keys without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Write the new age identity here (0600) instead of where sops looks ($SOPS_AGE_KEY_FILE, else ~/.config/sops/age/keys.txt); must be outside the repository.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Configure this cluster (sources secrets/NAME, sealed manifests/NAME/sealed).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
}

#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// The cluster (in overworld-secrets.yaml) the secrets belong to.
    #[arg(long, value_name = "NAME")]
    pub cluster: String,
    /// The controller's private key(s): a PEM, a key Secret, or the `kind: List` that
    /// `kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml` prints.
    #[arg(long, value_name = "FILE")]
    pub sealing_key: Option<PathBuf>,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply the plan without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Reseal into the standard layout instead of the existing files (prints the kustomization edits).
    #[arg(long = "move")]
    pub move_to_standard: bool,
    /// Delete the plaintext files once their Secrets are adopted.
    #[arg(long)]
    pub delete_plaintext: bool,
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
