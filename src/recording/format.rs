//! One recording file's content: a magic header, then length-prefixed `SubscribeUpdate` frames.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use yellowstone_grpc_proto::prelude::SubscribeUpdate;
use yellowstone_grpc_proto::prost::Message as _;

/// First bytes of every (decompressed) recording file; the last byte is the format version.
pub const MAGIC: &[u8; 8] = b"PWREC\r\n\x01";
/// A frame longer than this is corruption, not an update (the gRPC limit is far lower).
pub const MAX_FRAME: usize = 256 * 1024 * 1024;
/// Extension of recording files.
pub const EXTENSION: &str = "pwrec.zst";

/// Why a recording (or part of it) cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: io::Error },
    #[error("{path}: not a pocketwatcher recording (no PWREC header); recordings are the *.{EXTENSION} files `pocketwatcher record` writes")]
    NotARecording { path: PathBuf },
    #[error("{path}: truncated after {frames} updates (the recorder stopped in the middle of a write, e.g. killed or out of disk); the updates before it are used")]
    Truncated { path: PathBuf, frames: u64 },
    #[error("{path}: update {frame} is corrupt ({error}); the rest of this file is skipped")]
    Corrupt {
        path: PathBuf,
        frame: u64,
        error: String,
    },
    #[error("{path}: no recording files (*.{EXTENSION}) there; make one with `pocketwatcher record --config F --out DIR`")]
    Empty { path: PathBuf },
}

impl RecordingError {
    pub(crate) fn io(path: &Path, error: io::Error) -> Self {
        RecordingError::Io {
            path: path.to_path_buf(),
            error,
        }
    }

    /// A torn tail: expected after a crash, not a reason to stop a replay.
    pub fn is_truncation(&self) -> bool {
        matches!(self, RecordingError::Truncated { .. })
    }
}

/// Appends one frame; returns the bytes written (before compression).
pub fn write_frame(
    out: &mut impl Write,
    update: &SubscribeUpdate,
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    buf.clear();
    update
        .encode(buf)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let len = u32::try_from(buf.len()).map_err(|_| io::Error::other("update larger than 4 GiB"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(buf)?;
    Ok(4 + buf.len())
}

/// How a read of `n` bytes ended.
pub(crate) enum Fill {
    Full,
    /// Nothing at all before the end: a clean end between frames.
    CleanEnd,
    /// Part of it, then the end (or zstd's "incomplete frame"): a torn tail.
    Torn,
}

/// Reads exactly `buf.len()` bytes, telling a clean end from a torn one. zstd reports a stream
/// cut inside a compressed block as an error; it is a torn tail too.
pub(crate) fn fill(input: &mut impl Read, buf: &mut [u8]) -> io::Result<Fill> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => return Ok(if got == 0 { Fill::CleanEnd } else { Fill::Torn }),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_torn(&e) => return Ok(Fill::Torn),
            Err(e) => return Err(e),
        }
    }
    Ok(Fill::Full)
}

/// zstd's errors for input that stops inside a frame.
fn is_torn(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof || e.to_string().contains("incomplete frame")
}

/// What reading one frame gave.
pub(crate) enum Frame {
    Update(Box<SubscribeUpdate>),
    End,
    Torn,
    Corrupt(String),
}

pub(crate) fn read_frame(input: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<Frame> {
    let mut len = [0u8; 4];
    match fill(input, &mut len)? {
        Fill::CleanEnd => return Ok(Frame::End),
        Fill::Torn => return Ok(Frame::Torn),
        Fill::Full => {}
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Ok(Frame::Corrupt(format!(
            "length {len} is over the {MAX_FRAME}-byte limit"
        )));
    }
    buf.resize(len, 0);
    if !matches!(fill(input, buf)?, Fill::Full) {
        return Ok(Frame::Torn);
    }
    match SubscribeUpdate::decode(buf.as_slice()) {
        Ok(u) => Ok(Frame::Update(Box::new(u))),
        Err(e) => Ok(Frame::Corrupt(format!("protobuf: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
    use yellowstone_grpc_proto::prelude::SubscribeUpdateBlockMeta;

    fn meta(slot: u64) -> SubscribeUpdate {
        SubscribeUpdate {
            filters: vec!["pocketwatcher".into()],
            update_oneof: Some(UpdateOneof::BlockMeta(SubscribeUpdateBlockMeta {
                slot,
                ..Default::default()
            })),
            created_at: None,
        }
    }

    #[test]
    fn frames_round_trip_and_a_torn_tail_is_told_from_a_clean_end() {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        write_frame(&mut out, &meta(1), &mut buf).unwrap();
        write_frame(&mut out, &meta(2), &mut buf).unwrap();
        let whole = out.len();
        let mut input = &out[..];
        for slot in [1, 2] {
            match read_frame(&mut input, &mut buf).unwrap() {
                Frame::Update(u) => assert_eq!(*u, meta(slot)),
                _ => panic!("frame {slot}"),
            }
        }
        assert!(matches!(
            read_frame(&mut input, &mut buf).unwrap(),
            Frame::End
        ));
        for cut in [whole - 1, whole - 5, 2] {
            let mut input = &out[..cut];
            let mut frames = 0;
            let end = loop {
                match read_frame(&mut input, &mut buf).unwrap() {
                    Frame::Update(_) => frames += 1,
                    other => break other,
                }
            };
            assert!(matches!(end, Frame::Torn), "cut at {cut}");
            assert!(frames <= 1);
        }
    }

    #[test]
    fn an_absurd_length_or_bad_protobuf_is_corruption() {
        let mut input: &[u8] = &[0xff, 0xff, 0xff, 0xff, 1, 2];
        let mut buf = Vec::new();
        assert!(matches!(
            read_frame(&mut input, &mut buf).unwrap(),
            Frame::Corrupt(_)
        ));
        let mut input: &[u8] = &[2, 0, 0, 0, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut input, &mut buf).unwrap(),
            Frame::Corrupt(_)
        ));
    }
}
