//! Reads a recording: the files of a directory in name (= time) order, frame by frame, never all
//! at once. A torn or corrupt file is reported once and the reader goes on with the next file.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use yellowstone_grpc_proto::prelude::SubscribeUpdate;

use super::format::{fill, read_frame, Fill, Frame, RecordingError, EXTENSION, MAGIC};

/// True for a path that names a recording: a `*.pwrec.zst` file, or a directory holding one.
pub fn is_recording(path: &Path) -> bool {
    if path.is_dir() {
        return list(path).is_ok_and(|files| !files.is_empty());
    }
    is_recording_file(path)
}

fn is_recording_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(&format!(".{EXTENSION}")))
}

/// The recording files of `dir`, sorted by name.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>, RecordingError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| RecordingError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_recording_file(p))
        .collect();
    files.sort();
    Ok(files)
}

/// Counts the compressed bytes read (progress over a recording's size).
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

type Decoder = zstd::stream::read::Decoder<'static, BufReader<Counting<File>>>;

struct Open {
    path: PathBuf,
    decoder: Decoder,
    frames: u64,
}

/// Iterates over the updates of a recording; `Err` items are problems with one file (the
/// iteration continues with the next one), see [`RecordingError::is_truncation`].
pub struct RecordingReader {
    files: Vec<PathBuf>,
    next_file: usize,
    current: Option<Open>,
    buf: Vec<u8>,
    read: Arc<AtomicU64>,
    total_bytes: u64,
}

impl RecordingReader {
    /// A directory of recording files, or one file.
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        let files = if path.is_dir() {
            list(path)?
        } else {
            std::fs::metadata(path).map_err(|e| RecordingError::io(path, e))?;
            vec![path.to_path_buf()]
        };
        if files.is_empty() {
            return Err(RecordingError::Empty {
                path: path.to_path_buf(),
            });
        }
        let total_bytes = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        Ok(RecordingReader {
            files,
            next_file: 0,
            current: None,
            buf: Vec::new(),
            read: Arc::new(AtomicU64::new(0)),
            total_bytes,
        })
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Compressed size of all the files.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Compressed bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    fn open_file(&self, path: &Path) -> Result<Open, RecordingError> {
        let file = File::open(path).map_err(|e| RecordingError::io(path, e))?;
        let counting = Counting {
            inner: file,
            read: Arc::clone(&self.read),
        };
        let mut decoder =
            zstd::stream::read::Decoder::new(counting).map_err(|e| RecordingError::io(path, e))?;
        let mut magic = [0u8; MAGIC.len()];
        match fill(&mut decoder, &mut magic) {
            Ok(Fill::Full) if &magic == MAGIC => {}
            // Killed before the first block reached the disk: an empty recording, torn.
            Ok(Fill::CleanEnd | Fill::Torn) => {
                return Err(RecordingError::Truncated {
                    path: path.to_path_buf(),
                    frames: 0,
                })
            }
            Ok(Fill::Full) => {
                return Err(RecordingError::NotARecording {
                    path: path.to_path_buf(),
                })
            }
            Err(_) => {
                return Err(RecordingError::NotARecording {
                    path: path.to_path_buf(),
                })
            }
        }
        Ok(Open {
            path: path.to_path_buf(),
            decoder,
            frames: 0,
        })
    }
}

impl Iterator for RecordingReader {
    type Item = Result<Box<SubscribeUpdate>, RecordingError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Some(open) = self.current.as_mut() else {
                let path = self.files.get(self.next_file)?.clone();
                self.next_file += 1;
                match self.open_file(&path) {
                    Ok(open) => self.current = Some(open),
                    Err(e) => return Some(Err(e)),
                }
                continue;
            };
            let frame = read_frame(&mut open.decoder, &mut self.buf);
            let error = match frame {
                Ok(Frame::Update(update)) => {
                    open.frames += 1;
                    return Some(Ok(update));
                }
                Ok(Frame::End) => {
                    self.current = None;
                    continue;
                }
                Ok(Frame::Torn) => RecordingError::Truncated {
                    path: open.path.clone(),
                    frames: open.frames,
                },
                Ok(Frame::Corrupt(error)) => RecordingError::Corrupt {
                    path: open.path.clone(),
                    frame: open.frames + 1,
                    error,
                },
                Err(e) => RecordingError::Corrupt {
                    path: open.path.clone(),
                    frame: open.frames + 1,
                    error: e.to_string(),
                },
            };
            self.current = None;
            return Some(Err(error));
        }
    }
}

/// Reads one file to its end: how many updates it holds, and whether its tail is torn.
pub fn check_file(path: &Path) -> Result<(u64, Option<RecordingError>), RecordingError> {
    let mut reader = RecordingReader::open(path)?;
    let mut frames = 0;
    for item in reader.by_ref() {
        match item {
            Ok(_) => frames += 1,
            Err(e) => return Ok((frames, Some(e))),
        }
    }
    Ok((frames, None))
}
