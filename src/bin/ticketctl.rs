//! The `ticketctl` binary: parses the command line and hands over to `commands`.

use clap::Parser;
use ticketctl::commands::{Cli, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    ticketctl::observe::logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
