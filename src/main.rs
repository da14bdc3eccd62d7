use clap::Parser;

fn main() {
    let cli = overworld_secrets::cli::Cli::parse();
    let no_color = cli.no_color;
    let code = match overworld_secrets::run(cli) {
        Ok(()) => 0,
        Err(overworld_secrets::Error::BrokenPipe) => 0,
        Err(e) => {
            let p = overworld_secrets::output::Printer::new(false, 0, false, no_color);
            p.error(&e.to_string());
            if let Some(h) = e.hint() {
                p.hint(&h);
            }
            e.exit_code()
        }
    };
    std::process::exit(code);
}
