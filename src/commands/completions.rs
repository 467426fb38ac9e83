//! `ticketctl completions`: shell completion scripts (the repo ships them in completions/).

use clap::CommandFactory;
use clap_complete::Shell;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
    /// Write into this directory instead of standard output.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

impl Cmd {
    pub fn run(&self) -> anyhow::Result<()> {
        let mut cmd = super::Cli::command();
        match &self.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let path = clap_complete::generate_to(self.shell, &mut cmd, "ticketctl", dir)?;
                println!("wrote {}", path.display());
            }
            None => {
                clap_complete::generate(self.shell, &mut cmd, "ticketctl", &mut std::io::stdout())
            }
        }
        Ok(())
    }
}
