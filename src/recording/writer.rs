//! Writes a recording: one zstd file per UTC hour of arrival, a new part per restart, a zstd
//! block flushed every [`FLUSH_EVERY`] so a crash loses at most that much.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use yellowstone_grpc_proto::prelude::SubscribeUpdate;
use yellowstone_grpc_proto::prost_types::Timestamp;

use super::format::{write_frame, RecordingError, EXTENSION, MAGIC};
use super::reader::{check_file, list};
use crate::alerting::format::common::iso8601_utc;

/// How often buffered updates are compressed and written out (the most a crash can lose).
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// zstd level: fast enough for a mainnet feed on one core, ~8× smaller than the protobuf.
const LEVEL: i32 = 3;

/// `2026-12-07T14` for a unix time.
pub fn hour_of(unix_secs: i64) -> String {
    iso8601_utc(unix_secs * 1000)[..13].to_string()
}

/// `pw-2026-12-07T14-03.pwrec.zst`
pub fn file_name(hour: &str, part: u32) -> String {
    format!("pw-{hour}-{part:02}.{EXTENSION}")
}

/// What the newest file already in the directory looked like when the recorder started.
#[derive(Debug)]
pub struct Previous {
    pub path: PathBuf,
    pub updates: u64,
    /// Set when its tail is torn (a crash): the updates before it are intact.
    pub problem: Option<RecordingError>,
}

struct Current {
    hour: String,
    path: PathBuf,
    encoder: zstd::stream::write::Encoder<'static, BufWriter<File>>,
}

/// The recording being written.
pub struct RecordingWriter {
    dir: PathBuf,
    current: Option<Current>,
    buf: Vec<u8>,
    last_flush: Instant,
    /// Files finished or started by this writer, in order.
    pub files: Vec<PathBuf>,
    pub updates: u64,
    /// Uncompressed bytes (frames) written.
    pub bytes: u64,
}

impl RecordingWriter {
    /// Creates `dir` if needed and checks the newest file already there (a restart after a crash
    /// finds its torn tail; it is reported, never appended to).
    pub fn open(dir: &Path) -> Result<(Self, Option<Previous>), RecordingError> {
        std::fs::create_dir_all(dir).map_err(|e| RecordingError::io(dir, e))?;
        let previous = list(dir)?.pop().map(|path| match check_file(&path) {
            Ok((updates, problem)) => Previous {
                path,
                updates,
                problem,
            },
            Err(problem) => Previous {
                path,
                updates: 0,
                problem: Some(problem),
            },
        });
        Ok((
            RecordingWriter {
                dir: dir.to_path_buf(),
                current: None,
                buf: Vec::new(),
                last_flush: Instant::now(),
                files: Vec::new(),
                updates: 0,
                bytes: 0,
            },
            previous,
        ))
    }

    /// The file being written.
    pub fn current_file(&self) -> Option<&Path> {
        self.current.as_ref().map(|c| c.path.as_path())
    }

    /// Appends `update`, received at `received` (which picks the hour file; it also becomes the
    /// update's `created_at` when the server set none).
    pub fn write(
        &mut self,
        mut update: SubscribeUpdate,
        received: SystemTime,
    ) -> Result<(), RecordingError> {
        let secs = received
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let hour = hour_of(secs);
        if self.current.as_ref().is_none_or(|c| c.hour != hour) {
            self.rotate(hour)?;
        }
        if update.created_at.is_none() {
            update.created_at = Some(Timestamp::from(received));
        }
        let current = self.current.as_mut().expect("rotate opened a file");
        let n = write_frame(&mut current.encoder, &update, &mut self.buf)
            .map_err(|e| RecordingError::io(&current.path, e))?;
        self.updates += 1;
        self.bytes += n as u64;
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Compresses and writes out what is buffered (the file stays open).
    pub fn flush(&mut self) -> Result<(), RecordingError> {
        self.last_flush = Instant::now();
        if let Some(c) = self.current.as_mut() {
            c.encoder
                .flush()
                .map_err(|e| RecordingError::io(&c.path, e))?;
        }
        Ok(())
    }

    /// Ends the current file properly (a complete zstd frame, synced to disk).
    pub fn finish(&mut self) -> Result<(), RecordingError> {
        if let Some(c) = self.current.take() {
            let path = c.path;
            let mut out = c
                .encoder
                .finish()
                .map_err(|e| RecordingError::io(&path, e))?;
            out.flush().map_err(|e| RecordingError::io(&path, e))?;
            out.get_ref()
                .sync_all()
                .map_err(|e| RecordingError::io(&path, e))?;
        }
        Ok(())
    }

    fn rotate(&mut self, hour: String) -> Result<(), RecordingError> {
        self.finish()?;
        // The first free part of this hour: never append to a file another run wrote.
        let (path, file) = (0u32..)
            .map(|part| self.dir.join(file_name(&hour, part)))
            .find_map(
                |path| match OpenOptions::new().write(true).create_new(true).open(&path) {
                    Ok(file) => Some(Ok((path, file))),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
                    Err(e) => Some(Err(RecordingError::io(&path, e))),
                },
            )
            .expect("some part number is free")?;
        let mut encoder = zstd::stream::write::Encoder::new(BufWriter::new(file), LEVEL)
            .map_err(|e| RecordingError::io(&path, e))?;
        encoder
            .write_all(MAGIC)
            .map_err(|e| RecordingError::io(&path, e))?;
        tracing::info!(file = %path.display(), "recording: new file");
        self.files.push(path.clone());
        self.current = Some(Current {
            hour,
            path,
            encoder,
        });
        Ok(())
    }
}

impl Drop for RecordingWriter {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::RecordingReader;
    use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
    use yellowstone_grpc_proto::prelude::SubscribeUpdateBlockMeta;

    fn meta(slot: u64) -> SubscribeUpdate {
        SubscribeUpdate {
            filters: vec!["f".into()],
            update_oneof: Some(UpdateOneof::BlockMeta(SubscribeUpdateBlockMeta {
                slot,
                ..Default::default()
            })),
            created_at: None,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pw-rec-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn slots(dir: &Path) -> Vec<Result<u64, String>> {
        RecordingReader::open(dir)
            .unwrap()
            .map(|u| {
                u.map(|u| match u.update_oneof {
                    Some(UpdateOneof::BlockMeta(m)) => m.slot,
                    _ => 0,
                })
                .map_err(|e| e.to_string())
            })
            .collect()
    }

    #[test]
    fn files_rotate_by_utc_hour_and_a_restart_opens_a_new_part() {
        let dir = temp_dir("rotate");
        let t = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        let (mut w, previous) = RecordingWriter::open(&dir).unwrap();
        assert!(previous.is_none());
        // 2023-11-14T22:13:20Z, then the next hour.
        w.write(meta(1), t(1_700_000_000)).unwrap();
        w.write(meta(2), t(1_700_000_001)).unwrap();
        w.write(meta(3), t(1_700_003_600)).unwrap();
        w.finish().unwrap();
        drop(w);
        let (mut w, previous) = RecordingWriter::open(&dir).unwrap();
        let previous = previous.unwrap();
        assert_eq!(previous.updates, 1);
        assert!(previous.problem.is_none());
        w.write(meta(4), t(1_700_003_601)).unwrap();
        w.finish().unwrap();
        let names: Vec<String> = list(&dir)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "pw-2023-11-14T22-00.pwrec.zst",
                "pw-2023-11-14T23-00.pwrec.zst",
                "pw-2023-11-14T23-01.pwrec.zst"
            ]
        );
        assert_eq!(slots(&dir), [Ok(1), Ok(2), Ok(3), Ok(4)]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_torn_tail_is_reported_and_the_reader_goes_on() {
        let dir = temp_dir("torn");
        let (mut w, _) = RecordingWriter::open(&dir).unwrap();
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for slot in 1..=200 {
            w.write(meta(slot), t).unwrap();
            if slot == 100 {
                w.flush().unwrap();
            }
        }
        w.finish().unwrap();
        let first = w.files[0].clone();
        drop(w);
        let len = std::fs::metadata(&first).unwrap().len();
        let f = OpenOptions::new().write(true).open(&first).unwrap();
        f.set_len(len - 7).unwrap();
        drop(f);
        let (mut w, previous) = RecordingWriter::open(&dir).unwrap();
        let previous = previous.unwrap();
        assert!(
            previous.problem.as_ref().is_some_and(|p| p.is_truncation()),
            "{previous:?}"
        );
        assert!(previous.updates >= 100, "{previous:?}");
        w.write(meta(1_000), t).unwrap();
        w.finish().unwrap();
        let got = slots(&dir);
        let torn = got.iter().position(|r| r.is_err()).expect("the torn tail");
        assert!(got[torn].as_ref().unwrap_err().contains("truncated after"));
        assert_eq!(
            got[..torn],
            (1..=torn as u64).map(Ok).collect::<Vec<_>>()[..]
        );
        assert_eq!(got.last(), Some(&Ok(1_000)), "the next file is read");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
