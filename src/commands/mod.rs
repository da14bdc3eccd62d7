//! One thin module per subcommand: read inputs, call the cores, write outputs.

pub mod adopt;
pub mod bootstrap;
pub mod cert;
pub mod cert_source;
pub mod check;
pub mod decrypt;
pub mod edit;
pub mod encrypt;
pub mod exec;
pub mod external_secrets;
pub mod filestatus;
pub mod infisical_diff;
pub mod infisical_pull;
pub mod init;
pub mod keys;
pub mod meta;
pub mod reseal;
pub mod rotate;
pub mod seal;
pub mod seed_infisical;
pub mod set;
pub mod status;
pub mod updatekeys;

use crate::cli::{Cli, Command, StoreArgs};
use crate::error::{Error, Result};
use crate::output::Printer;
use crate::sops::format::{EmitOptions, Format};
use crate::sops::rules::SopsConfig;
use std::path::{Path, PathBuf};

/// The age identities the environment names (SOPS_AGE_KEY_FILE and friends), with a warning
/// printed for each key file others can read.
pub fn load_identities(ctx: &Ctx) -> std::result::Result<crate::sops::keys::Identities, String> {
    let ids = crate::sops::keys::Identities::from_env()?;
    for w in ids.warnings() {
        ctx.printer.warn(w);
    }
    Ok(ids)
}

/// What every command gets: the printer and the global options.
pub struct Ctx {
    pub printer: Printer,
    pub sops_config: Option<PathBuf>,
    /// `--config`: the overworld-secrets.yaml to use.
    pub config: Option<PathBuf>,
}

impl Ctx {
    /// The `.sops.yaml` in force (SOPS.md §9.1), with its warnings printed.
    pub fn sops_config(&self) -> Result<Option<SopsConfig>> {
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let mut warnings = Vec::new();
        let cfg =
            SopsConfig::find(&cwd, self.sops_config.as_deref(), &mut warnings).map_err(|e| {
                Error::sops(
                    self.sops_config
                        .clone()
                        .unwrap_or_else(|| ".sops.yaml".into()),
                    crate::sops::SopsError::Config(e.to_string()),
                )
            })?;
        for w in warnings {
            self.printer.warn(&w);
        }
        Ok(cfg)
    }

    /// Output layout from `.sops.yaml` `stores:`; every command reads it (SOPS.md §9.1).
    pub fn emit_options(&self) -> Result<EmitOptions> {
        Ok(self.sops_config()?.map(|c| c.emit).unwrap_or_default())
    }
}

pub fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        printer: Printer::new(cli.quiet, cli.verbose, cli.json, cli.no_color),
        sops_config: cli.sops_config,
        config: cli.config,
    };
    match cli.command {
        Command::Encrypt(a) => encrypt::run(&ctx, a),
        Command::Decrypt(a) => decrypt::run(&ctx, a),
        Command::Filestatus(a) => filestatus::run(&ctx, a),
        Command::Edit(a) => edit::run(&ctx, a),
        Command::Set(a) => set::run_set(&ctx, a),
        Command::Unset(a) => set::run_unset(&ctx, a),
        Command::Updatekeys(a) => updatekeys::run(&ctx, a),
        Command::Rotate(a) => rotate::run(&ctx, a),
        Command::ExecEnv(a) => exec::run_env(&ctx, a),
        Command::ExecFile(a) => exec::run_file(&ctx, a),
        Command::Check(a) => check::run(&ctx, a),
        Command::Reseal(a) => reseal::run(&ctx, a),
        Command::Seal(a) => seal::run(&ctx, a),
        Command::ExternalSecrets(a) => external_secrets::run(&ctx, a),
        Command::Cert(crate::cli::CertCommand::Fetch(a)) => cert::fetch(&ctx, a),
        Command::Keys(crate::cli::KeysCommand::Backup(a)) => keys::backup(&ctx, a),
        Command::Bootstrap(a) => bootstrap::run(&ctx, a),
        Command::Status(a) => status::run(&ctx, a),
        Command::Init(a) => init::run(&ctx, a),
        Command::Adopt(a) => adopt::run(&ctx, a),
        Command::Completions { shell } => meta::completions(shell),
        Command::Man => meta::man(),
        Command::SeedInfisical(a) => seed_infisical::run(&ctx, a),
        Command::Infisical(c) => seed_infisical::run_infisical(&ctx, c),
    }
}

/// Where the input comes from and how it is named for store detection and rule matching.
pub struct Input {
    /// The name used in messages and for matching (`--filename-override`, the file, or `<stdin>`).
    pub name: PathBuf,
    pub file: Option<PathBuf>,
    pub bytes: Vec<u8>,
}

/// Reads FILE or stdin. A missing file is sops's exit 100.
pub fn read_input(file: Option<&Path>, store: &StoreArgs) -> Result<Input> {
    let file = file.filter(|f| f.as_os_str() != "-");
    let bytes = match file {
        Some(f) => {
            if !f.exists() {
                return Err(Error::sops(
                    f,
                    crate::sops::SopsError::NoSuchFile(f.to_path_buf()),
                ));
            }
            std::fs::read(f).map_err(|e| Error::io(f, e))?
        }
        None => {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)
                .map_err(|e| Error::io("<stdin>", e))?;
            v
        }
    };
    let name = store
        .filename_override
        .clone()
        .or_else(|| file.map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("<stdin>"));
    Ok(Input {
        name,
        file: file.map(Path::to_path_buf),
        bytes,
    })
}

/// Input and output stores: flags first, then the name's extension (SOPS.md §8.1). An unknown
/// type name is an error here (sops silently ignores it, which hides typos).
pub fn formats(name: &Path, store: &StoreArgs) -> Result<(Format, Format)> {
    let parse = |t: &Option<String>| -> Result<Option<Format>> {
        match t {
            None => Ok(None),
            Some(s) => Format::from_name(s).map(Some).ok_or_else(|| {
                Error::Usage(format!(
                    "unknown store type {s:?}: use yaml, json, dotenv, ini or binary"
                ))
            }),
        }
    };
    let input = parse(&store.input_type)?.unwrap_or_else(|| Format::from_path(name));
    let output = parse(&store.output_type)?.unwrap_or(input);
    Ok((input, output))
}

/// Writes command output: `--output FILE`, in place, or stdout. Files are replaced atomically;
/// a new file that holds plaintext is created 0600.
pub fn write_output(
    bytes: &[u8],
    output: Option<&Path>,
    in_place: Option<&Path>,
    plaintext: bool,
) -> Result<()> {
    let mode = if plaintext { Some(0o600) } else { None };
    match (output, in_place) {
        (Some(p), _) | (None, Some(p)) => crate::fsutil::atomic_write(p, bytes, mode)
            .map_err(|e| Error::sops(p, crate::sops::SopsError::Write(e.source.to_string()))),
        (None, None) => Ok(crate::output::stdout_write(bytes)?),
    }
}
