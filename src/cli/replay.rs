//! `pocketwatcher replay FILE|DIR…`: feeds getTransaction JSON straight into the stream, bypassing
//! gRPC — the bundled demo and a way to re-process known transactions. A recording directory
//! (`pocketwatcher record`) is replayed as ingest would have written it: same block times
//! ([`crate::recording::feed`]), streamed file by file, never loaded whole.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use super::progress::Progress;
use crate::domain::rpc_json::transactions_from_json_text;
use crate::domain::{wire, DecodeError, Transaction};
use crate::recording::feed::TimedTransactions;
use crate::recording::reader::is_recording;
use crate::store::redis::stream::{append, ensure_group};

/// Files to read: each path, or the `.json`/`.jsonl` files of a directory in name order.
pub fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json" || x == "jsonl"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Every transaction in `paths` (files, or directories of `.json`/`.jsonl` in name order), with
/// the file each came from; undecodable ones stay errors so callers can report them.
pub fn load_transactions(
    paths: &[PathBuf],
) -> anyhow::Result<Vec<(PathBuf, Result<Transaction, DecodeError>)>> {
    let mut out = Vec::new();
    for file in collect_files(paths)? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        out.extend(
            transactions_from_json_text(&text)
                .into_iter()
                .map(|tx| (file.clone(), tx)),
        );
    }
    Ok(out)
}

/// Outcome of a replay.
#[derive(Debug, Default)]
pub struct ReplaySummary {
    pub written: usize,
    pub undecodable: usize,
    /// Recording files with a torn tail or corrupt content (reported on stderr, skipped past).
    pub damaged_files: usize,
}

/// Writes every decodable transaction of `paths` to the stream at `redis_url`, `repeat` times.
/// Recordings among `paths` get ingest's block times for `hold` (`ingest.block_time_hold_ms`).
pub async fn replay(
    redis_url: &str,
    paths: &[PathBuf],
    repeat: usize,
    hold: Duration,
) -> anyhow::Result<ReplaySummary> {
    let client = redis::Client::open(redis_url).context("redis URL")?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .context("connecting to Redis")?;
    conn.set_response_timeout(crate::actors::REDIS_RESPONSE_TIMEOUT);
    ensure_group(&mut conn).await?;
    let mut summary = ReplaySummary::default();
    let (recordings, json): (Vec<PathBuf>, Vec<PathBuf>) =
        paths.iter().cloned().partition(|p| is_recording(p));
    for _ in 0..repeat {
        for recording in &recordings {
            replay_recording(&mut conn, recording, hold, &mut summary).await?;
        }
    }
    if json.is_empty() {
        return Ok(summary);
    }
    let mut payloads = Vec::new();
    for (file, tx) in load_transactions(&json)? {
        match tx {
            Ok(tx) => payloads.push(wire::encode(&tx)),
            Err(e) => {
                summary.undecodable += 1;
                eprintln!("{}: {e}", file.display());
            }
        }
    }
    let total = payloads.len() * repeat;
    let mut progress = Progress::new("replay", "written", total as u64);
    let mut written = 0;
    for _ in 0..repeat {
        for chunk in payloads.chunks(500) {
            append(&mut conn, chunk).await?;
            written += chunk.len();
            progress.set(written as u64);
        }
    }
    progress.finish(written as u64);
    summary.written += written;
    Ok(summary)
}

/// Streams one recording into the stream, 500 entries per XADD pipeline; progress is over the
/// compressed bytes read (the number of transactions is not known before the end).
async fn replay_recording(
    conn: &mut redis::aio::MultiplexedConnection,
    path: &Path,
    hold: Duration,
    summary: &mut ReplaySummary,
) -> anyhow::Result<()> {
    let mut feed = TimedTransactions::open(path, hold)?;
    let mut progress = Progress::new("replay", "KB read", feed.reader().total_bytes() / 1000);
    let mut batch: Vec<Vec<u8>> = Vec::with_capacity(500);
    let mut written = 0;
    loop {
        let item = feed.next();
        let end = item.is_none();
        match item {
            Some(Ok(tx)) => batch.push(wire::encode(&tx)),
            Some(Err(e)) => eprintln!("replay: {e}"),
            None => {}
        }
        if batch.len() >= 500 || (end && !batch.is_empty()) {
            append(conn, &batch).await?;
            written += batch.len();
            batch.clear();
            progress.set(feed.reader().bytes_read() / 1000);
        }
        if end {
            break;
        }
    }
    progress.finish(feed.reader().bytes_read() / 1000);
    let stats = &feed.stats;
    eprintln!(
        "replay: {}: {} updates ({} transactions, {} block metas), {written} written, {} undecodable",
        path.display(),
        stats.updates,
        stats.transactions,
        stats.block_metas,
        stats.undecodable
    );
    summary.written += written;
    summary.undecodable += stats.undecodable as usize;
    summary.damaged_files += stats.damaged_files as usize;
    Ok(())
}
