//! The `pocketwatcher` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use pocketwatcher::cli;
use pocketwatcher::domain::InferenceConfig;

#[derive(Parser)]
#[command(
    name = "pocketwatcher",
    version,
    about = "Watches Solana DEX trading and alerts on coordinated accumulation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Print the swaps in getTransaction JSON files (one transaction per file, or JSON lines).
    Parse {
        /// Output format (one JSON object per swap).
        #[arg(long, value_enum, default_value = "json")]
        format: OutputFormat,
        /// Also print, on stderr, why each transaction without swaps was rejected.
        #[arg(long)]
        explain: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Parse {
            format: OutputFormat::Json,
            explain,
            files,
        } => {
            let config = InferenceConfig::default();
            let stdout = std::io::stdout();
            let stderr = std::io::stderr();
            let result = cli::parse::run(
                &files,
                explain,
                &config,
                &mut stdout.lock(),
                &mut stderr.lock(),
            );
            match result {
                Ok(summary) if summary.errors == 0 => ExitCode::SUCCESS,
                Ok(_) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("pocketwatcher parse: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
