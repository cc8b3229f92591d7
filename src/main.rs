//! The `scrub` binary: parse arguments, run, map errors to exit codes.

use clap::Parser;

fn main() {
    let cli = scrub::cli::Cli::parse();
    let code = match scrub::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("scrub: error: {e:#}");
            scrub::cli::EXIT_FAILURE
        }
    };
    std::process::exit(code);
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
