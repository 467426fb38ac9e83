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

#[cfg(test)]
mod tests {
    use super::*;

    /// The scripts shipped in completions/ must be what the current flags
    /// generate; a flag added without regenerating them fails here.
    #[test]
    fn shipped_completions_match_the_current_flags() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
        for (shell, file) in [
            (Shell::Bash, "ticketctl.bash"),
            (Shell::Zsh, "_ticketctl"),
            (Shell::Fish, "ticketctl.fish"),
        ] {
            let mut generated = Vec::new();
            clap_complete::generate(
                shell,
                &mut super::super::Cli::command(),
                "ticketctl",
                &mut generated,
            );
            let shipped = std::fs::read(dir.join(file)).unwrap_or_default();
            assert!(
                generated == shipped,
                "completions/{file} is stale: run `ticketctl completions {shell} --dir completions`"
            );
        }
    }
}
