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
    /// Write getTransaction JSON files straight into the stream (no gRPC feed needed).
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
    /// Backlog, pending per consumer, lags, rates, dead letters, HOT tokens and the last alerts.
    Status(cli::status::StatusArgs),
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
    ))?;
    eprintln!(
        "replay: {} transactions written to stream:tx, {} undecodable",
        summary.written, summary.undecodable
    );
    Ok(if summary.undecodable > 0 { 1 } else { 0 })
}

fn bench(args: cli::bench::BenchArgs) -> anyhow::Result<i32> {
    pocketwatcher::logging::init("warn", "human");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let r = runtime.block_on(cli::bench::bench(args))?;
    println!("transactions        {}", r.transactions);
    println!(
        "duration            {:.2} s (first XADD to last XACK)",
        r.seconds
    );
    println!("throughput          {:.0} tx/s", r.throughput);
    println!(
        "latency p50 / p99   {:.1} ms / {:.1} ms (ingest XADD to XACK)",
        r.p50_ms, r.p99_ms
    );
    println!(
        "detection p50 / p99 {:.1} ms / {:.1} ms (commit to evaluation; {:.0} mint evaluations, {:.0} alerts)",
        r.detect_p50_ms, r.detect_p99_ms, r.mints_evaluated, r.alerts_created
    );
    println!("peak RSS (daemon)   {:.1} MB", r.peak_rss_mb);
    println!(
        "Redis CPU           {:.2} us per transaction",
        r.redis_usec_per_tx
    );
    for (name, calls, per_call, share) in &r.redis_top {
        println!(
            "  {name:<14} {calls:>10} calls {per_call:>9.2} us/call {:>5.1}%",
            share * 100.0
        );
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
