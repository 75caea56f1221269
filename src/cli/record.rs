//! `pocketwatcher record --config F --out DIR`: subscribes to the feed as ingest does and writes
//! every transaction and block-meta update, as received, to hourly zstd files (see
//! [`crate::recording`]). Progress every 10 s on stderr; a summary (or `--json`) on stdout.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use serde::Serialize;
use tokio::sync::mpsc;
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;

use super::when::parse_duration;
use crate::config::{Config, ProcessEnv};
use crate::geyser_source::{spawn_raw_source, RawEvent};
use crate::recording::writer::FLUSH_EVERY;
use crate::recording::RecordingWriter;

/// Interval of the progress lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

#[derive(clap::Args, Debug)]
pub struct RecordArgs {
    /// Config file: the `[yellowstone]` endpoint, token and commitment, and the programs
    /// subscribed to (as ingest).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Directory of the recording (created if missing; a restart adds files, never appends).
    #[arg(long)]
    pub out: PathBuf,
    /// Stop after this many updates (transactions + block metas). Default: until ctrl-c/SIGTERM.
    #[arg(long)]
    pub count: Option<u64>,
    /// Stop after this long (such as 90m or 2h). Default: until ctrl-c/SIGTERM.
    #[arg(long)]
    pub duration: Option<String>,
    /// The summary as one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// What a recording session did.
#[derive(Debug, Default, Serialize)]
pub struct RecordSummary {
    pub out: String,
    pub files: Vec<String>,
    pub updates: u64,
    pub transactions: u64,
    pub block_metas: u64,
    pub first_slot: Option<u64>,
    pub last_slot: Option<u64>,
    /// Protobuf bytes recorded, and what they take on disk.
    pub bytes: u64,
    pub compressed_bytes: u64,
    pub seconds: f64,
    pub reconnects: u64,
    /// The newest file already there at start, when its tail was torn (a crash).
    pub previous_truncated: Option<String>,
    pub stopped_by: String,
}

pub fn run(args: RecordArgs) -> anyhow::Result<i32> {
    let config = Config::load(&args.config, &ProcessEnv)?;
    let source = crate::ingest::source_config(&config)?;
    let limit =
        match &args.duration {
            None => None,
            Some(d) => Some(Duration::from_secs(parse_duration(d).ok_or_else(|| {
                anyhow::anyhow!("--duration {d:?}: use a duration such as 90m or 2h")
            })? as u64)),
        };
    let (mut writer, previous) = RecordingWriter::open(&args.out)
        .with_context(|| format!("--out {}", args.out.display()))?;
    let mut summary = RecordSummary {
        out: args.out.display().to_string(),
        ..Default::default()
    };
    if let Some(p) = previous {
        match &p.problem {
            Some(problem) => {
                eprintln!("record: previous recording: {problem}");
                summary.previous_truncated = Some(p.path.display().to_string());
            }
            None => eprintln!(
                "record: continuing the recording in {} ({} ends cleanly after {} updates); new updates go to a new file",
                args.out.display(),
                p.path.display(),
                p.updates
            ),
        }
    }
    eprintln!(
        "record: subscribing to {} ({} programs, {}) → {}",
        source.endpoint_for_logs(),
        source.programs.len(),
        source.commitment,
        args.out.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let result = runtime.block_on(record(source, &mut writer, &mut summary, args.count, limit));
    let finished = writer.finish();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.updates = writer.updates;
    summary.bytes = writer.bytes;
    summary.files = writer
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    summary.compressed_bytes = writer
        .files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    result?;
    finished?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", table(&summary));
    }
    Ok(0)
}

async fn record(
    source: crate::geyser_source::GeyserSourceConfig,
    writer: &mut RecordingWriter,
    summary: &mut RecordSummary,
    count: Option<u64>,
    limit: Option<Duration>,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::channel::<RawEvent>(4_096);
    // Resume after the newest slot whose block meta is recorded: no duplicates after a reconnect
    // (a late transaction of that slot would be lost; ingest instead resumes early and lets the
    // consumers' signature guard drop the repeats).
    let resume = Arc::new(AtomicU64::new(0));
    let checkpoint = Arc::clone(&resume);
    let handle = spawn_raw_source(
        source,
        move || match checkpoint.load(Ordering::Relaxed) {
            0 => None,
            s => Some(s + 1),
        },
        tx,
    );
    let started = Instant::now();
    let deadline = limit.map(|l| tokio::time::Instant::now() + l);
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    let mut progress = tokio::time::interval(PROGRESS_EVERY);
    progress.tick().await;
    let mut stop = std::pin::pin!(stop_signal());
    let mut last_updates = 0u64;
    summary.stopped_by = loop {
        if count.is_some_and(|c| writer.updates >= c) {
            break "--count reached".into();
        }
        let event = tokio::select! {
            signal = &mut stop => {
                signal.context("waiting for ctrl-c / SIGTERM")?;
                break "signal".into();
            }
            _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)).await }, if deadline.is_some() => {
                break "--duration reached".into();
            }
            _ = flush.tick() => {
                writer.flush()?;
                continue;
            }
            _ = progress.tick() => {
                let rate = (writer.updates - last_updates) as f64 / PROGRESS_EVERY.as_secs_f64();
                last_updates = writer.updates;
                eprintln!(
                    "record: {} updates ({} transactions, {} block metas), slot {}, {:.0} updates/s, {} → {}",
                    writer.updates,
                    summary.transactions,
                    summary.block_metas,
                    summary.last_slot.map_or("-".into(), |s| s.to_string()),
                    rate,
                    megabytes(writer.bytes),
                    writer.current_file().map_or("-".into(), |f| f.display().to_string()),
                );
                continue;
            }
            event = rx.recv() => match event {
                Some(event) => event,
                None => break "the feed stopped".into(),
            },
        };
        match event {
            RawEvent::Update(update) => {
                let slot = match &update.update_oneof {
                    Some(UpdateOneof::Transaction(t)) => {
                        summary.transactions += 1;
                        t.slot
                    }
                    Some(UpdateOneof::BlockMeta(m)) => {
                        summary.block_metas += 1;
                        resume.fetch_max(m.slot, Ordering::Relaxed);
                        m.slot
                    }
                    _ => continue,
                };
                summary.first_slot.get_or_insert(slot);
                summary.last_slot = Some(summary.last_slot.map_or(slot, |s| s.max(slot)));
                writer.write(*update, SystemTime::now())?;
            }
            RawEvent::Connected { from_slot } => eprintln!(
                "record: connected ({})",
                from_slot.map_or("live head".into(), |s| format!("from slot {s}"))
            ),
            RawEvent::Disconnected { reason, retry_in } => {
                summary.reconnects += 1;
                eprintln!("record: disconnected ({reason}); retrying in {retry_in:?}");
            }
            RawEvent::FromSlotUnavailable { requested } => eprintln!(
                "record: the server no longer has slot {requested}; continuing at the live head (the slots in between are missing from the recording)"
            ),
        }
    };
    handle.abort();
    eprintln!(
        "record: stopping ({}) after {:.1} s",
        summary.stopped_by,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The summary for a person.
pub fn table(s: &RecordSummary) -> String {
    let ratio = s.bytes as f64 / s.compressed_bytes.max(1) as f64;
    let slots = match (s.first_slot, s.last_slot) {
        (Some(a), Some(b)) => format!("{a} – {b}"),
        _ => "-".into(),
    };
    let mut out = String::new();
    let mut row = |k: &str, v: String| out.push_str(&format!("{k:<12} {v}\n"));
    row("recording", s.out.clone());
    row("stopped by", s.stopped_by.clone());
    row(
        "updates",
        format!(
            "{} ({} transactions, {} block metas)",
            s.updates, s.transactions, s.block_metas
        ),
    );
    row("slots", slots);
    row(
        "size",
        format!(
            "{} protobuf → {} zstd ({ratio:.1}×)",
            megabytes(s.bytes),
            megabytes(s.compressed_bytes)
        ),
    );
    row(
        "time",
        format!(
            "{:.1} s, {:.0} updates/s",
            s.seconds,
            s.updates as f64 / s.seconds.max(1e-9)
        ),
    );
    row("reconnects", s.reconnects.to_string());
    for (i, f) in s.files.iter().enumerate() {
        row(if i == 0 { "files" } else { "" }, f.clone());
    }
    out
}

/// Ctrl-c (SIGINT), or SIGTERM on Unix.
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
