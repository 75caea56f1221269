//! `pocketwatcher replay FILE|DIR…`: feeds getTransaction JSON straight into the stream, bypassing
//! gRPC — the bundled demo and a way to re-process known transactions.

use std::path::PathBuf;

use anyhow::Context;

use super::progress::Progress;
use crate::domain::rpc_json::transactions_from_json_text;
use crate::domain::{wire, DecodeError, Transaction};
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
}

/// Writes every decodable transaction of `paths` to the stream at `redis_url`, `repeat` times.
pub async fn replay(
    redis_url: &str,
    paths: &[PathBuf],
    repeat: usize,
) -> anyhow::Result<ReplaySummary> {
    let client = redis::Client::open(redis_url).context("redis URL")?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .context("connecting to Redis")?;
    conn.set_response_timeout(crate::actors::REDIS_RESPONSE_TIMEOUT);
    ensure_group(&mut conn).await?;
    let mut payloads = Vec::new();
    let mut summary = ReplaySummary::default();
    for (file, tx) in load_transactions(paths)? {
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
    for _ in 0..repeat {
        for chunk in payloads.chunks(500) {
            append(&mut conn, chunk).await?;
            summary.written += chunk.len();
            progress.set(summary.written as u64);
        }
    }
    progress.finish(summary.written as u64);
    Ok(summary)
}
