//! Recordings of the live feed: what `pocketwatcher record` writes, and what `replay`,
//! `backtest --source DIR` and `fake-geyser --recording DIR` read.
//!
//! A recording is a directory of files, one per UTC hour of arrival (and a new part whenever the
//! recorder restarts within an hour, so that no file ever continues after a crash's torn tail):
//! `pw-2026-12-07T14-00.pwrec.zst`, `pw-2026-12-07T14-01.pwrec.zst`, … Names sort in time order.
//!
//! Each file is one zstd stream of a magic header ([`format::MAGIC`]) followed by frames: a
//! little-endian `u32` length, then a prost-encoded Yellowstone `SubscribeUpdate` (transaction and
//! block-meta updates, exactly as received; `created_at` is the server's, or the arrival time
//! when the server set none, and paces `fake-geyser --recording`). The recorder flushes a zstd
//! block every second, so a crash loses at most the last second; the reader reports the torn
//! tail ([`RecordingError::Truncated`]) and goes on with the next file.
//!
//! - [`format`]: frames and errors. [`writer`]: hourly rotation. [`reader`]: files of a directory
//!   in order. [`feed`]: the transactions with the block times ingest would have given them.

pub mod feed;
pub mod format;
pub mod reader;
pub mod writer;

pub use format::RecordingError;
pub use reader::RecordingReader;
pub use writer::RecordingWriter;
