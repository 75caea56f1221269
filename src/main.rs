//! The `pocketwatcher` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use pocketwatcher::actors::Role;
use pocketwatcher::cli;
use pocketwatcher::config::{Config, ProcessEnv};
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
    /// Run the daemon.
    Run {
        #[arg(long, short)]
        config: PathBuf,
        /// Which parts to run in this process.
        #[arg(long, value_enum, default_value = "all")]
        role: Role,
    },
    /// Send one clearly marked test alert to each configured channel.
    AlertTest {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Write getTransaction JSON files, or a recording directory, straight into the stream
    /// (no gRPC feed needed).
    Replay {
        /// Config file (for the Redis URL); `POCKETWATCHER_REDIS_URL` also works.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Write the whole set this many times.
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Record the live feed (transactions and block metas) to hourly zstd files.
    Record(cli::record::RecordArgs),
    /// Backlog, pending per consumer, lags, rates, dead letters, HOT tokens and the last alerts.
    Status(cli::status::StatusArgs),
    /// Which alerts a candidate trigger file would have sent on stored swaps, beside the running set.
    Backtest(cli::backtest::BacktestArgs),
    /// Per-trigger scoreboard of what tokens did after their alerts, and the latest alerts' outcomes.
    Outcomes(cli::outcomes::OutcomesArgs),
    /// Measure the whole pipeline: fake feed → daemon → Redis + PostgreSQL.
    Bench(cli::bench::BenchArgs),
    /// Serve the bundled transactions over a real Yellowstone gRPC server (for demos, tests, bench).
    FakeGeyser(pocketwatcher::fake_geyser::args::FakeGeyserArgs),
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
    let result = match cli.command {
        Command::Run { config, role } => cli::run::run(&config, role),
        Command::AlertTest { config } => cli::alert_test::alert_test(&config),
        Command::Migrate { config } => cli::run::migrate(&config).map(|_| 0),
        Command::Replay {
            config,
            repeat,
            paths,
        } => replay(config, repeat, &paths),
        Command::Parse {
            format: OutputFormat::Json,
            explain,
            files,
        } => parse(explain, &files),
        Command::FakeGeyser(args) => fake_geyser(args),
        Command::Bench(args) => bench(args),
        Command::Status(args) => cli::status::run(args),
        Command::Backtest(args) => cli::backtest::run(args),
        Command::Outcomes(args) => cli::outcomes::run(args),
        Command::Record(args) => {
            pocketwatcher::logging::init("warn", "human");
            cli::record::run(args)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("pocketwatcher: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn replay(config: Option<PathBuf>, repeat: usize, paths: &[PathBuf]) -> anyhow::Result<i32> {
    let config = match config {
        Some(path) => Config::load(&path, &ProcessEnv)?,
        None => Config::from_toml("", "defaults", &ProcessEnv)?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let summary = runtime.block_on(cli::replay::replay(
        config.redis.url.expose(),
        paths,
        repeat,
        std::time::Duration::from_millis(config.ingest.block_time_hold_ms),
    ))?;
    eprintln!(
        "replay: {} transactions written to stream:tx, {} undecodable, {} damaged recording files",
        summary.written, summary.undecodable, summary.damaged_files
    );
    Ok(if summary.undecodable > 0 { 1 } else { 0 })
}

fn bench(args: cli::bench::BenchArgs) -> anyhow::Result<i32> {
    pocketwatcher::logging::init("warn", "human");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let json = args.json;
    let r = runtime.block_on(cli::bench::bench(args))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", cli::bench::render(&r));
    }
    Ok(0)
}

fn fake_geyser(args: pocketwatcher::fake_geyser::args::FakeGeyserArgs) -> anyhow::Result<i32> {
    pocketwatcher::logging::init("info", "human");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(pocketwatcher::fake_geyser::args::run(args))?;
    Ok(0)
}

fn parse(explain: bool, files: &[PathBuf]) -> anyhow::Result<i32> {
    let config = InferenceConfig::default();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let summary = cli::parse::run(
        files,
        explain,
        &config,
        &mut stdout.lock(),
        &mut stderr.lock(),
    )?;
    Ok(if summary.errors == 0 { 0 } else { 1 })
}
