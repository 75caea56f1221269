//! Solana's binary transaction format, as `getTransaction` returns it with `encoding: base64`.
//!
//! A transaction on the wire is a compact-u16 count of 64-byte signatures, then the message:
//! legacy messages start with the 3-byte header; v0 messages start with `0x80 | version`, then the
//! header, and end with the address-table lookups. Everything between is the static account keys,
//! the recent blockhash and the compiled instructions, each list prefixed by a compact-u16 length.
//! The decoder reads exactly that and nothing more; a short, overlong or inconsistent input is a
//! [`DecodeError::BinaryTransaction`] that says what was being read and at which byte, never a panic.

use base64::Engine;

use super::error::DecodeError;
use super::pubkey::{Pubkey, Signature};

/// The message version byte's flag: set for versioned messages, clear for legacy ones (whose first
/// byte is the number of required signatures, always < 128).
const VERSION_PREFIX: u8 = 0x80;

/// A transaction decoded from its wire bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireTransaction {
    pub signatures: Vec<Signature>,
    pub message: WireMessage,
}

/// Which message layout the transaction uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageVersion {
    Legacy,
    V0,
}

/// The signed part of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireMessage {
    pub version: MessageVersion,
    pub num_required_signatures: u8,
    pub num_readonly_signed: u8,
    pub num_readonly_unsigned: u8,
    /// The static keys only; a v0 message's loaded addresses are not in the bytes (the RPC gives
    /// them in `meta.loadedAddresses`).
    pub account_keys: Vec<Pubkey>,
    pub recent_blockhash: [u8; 32],
    pub instructions: Vec<CompiledInstruction>,
    pub address_table_lookups: Vec<AddressTableLookup>,
}

/// A top-level instruction: indexes into the full key list (static, then loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledInstruction {
    pub program_id_index: u8,
    pub accounts: Vec<u8>,
    pub data: Vec<u8>,
}

/// A v0 message's reference into one address lookup table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressTableLookup {
    pub table: Pubkey,
    pub writable_indexes: Vec<u8>,
    pub readonly_indexes: Vec<u8>,
}

impl WireMessage {
    /// How many loaded addresses the lookups name: (writable, readonly).
    pub fn loaded_counts(&self) -> (usize, usize) {
        self.address_table_lookups.iter().fold((0, 0), |(w, r), l| {
            (w + l.writable_indexes.len(), r + l.readonly_indexes.len())
        })
    }
}

/// Decodes standard base64 text (padding optional) into wire bytes and then a transaction.
pub fn transaction_from_base64(text: &str) -> Result<WireTransaction, DecodeError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.trim()))
        .map_err(|e| DecodeError::Base64(e.to_string()))?;
    transaction_from_bytes(&bytes)
}

/// Decodes a whole wire transaction; trailing bytes are an error (they mean a misread length).
pub fn transaction_from_bytes(bytes: &[u8]) -> Result<WireTransaction, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    let count = r.short_len("signature count")?;
    let mut signatures = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        let raw = r.take(64, "signature")?;
        signatures.push(Signature::from_slice(raw, "signature")?);
    }
    let message = message(&mut r)?;
    if r.at != bytes.len() {
        return Err(r.error(
            "end of transaction",
            format!("{} trailing bytes", bytes.len() - r.at),
        ));
    }
    if signatures.len() != message.num_required_signatures as usize {
        return Err(DecodeError::Inconsistent(format!(
            "{} signatures but the header requires {}",
            signatures.len(),
            message.num_required_signatures
        )));
    }
    if signatures.is_empty() {
        return Err(DecodeError::Inconsistent("no signatures".into()));
    }
    Ok(WireTransaction {
        signatures,
        message,
    })
}

fn message(r: &mut Reader<'_>) -> Result<WireMessage, DecodeError> {
    let first = r.byte("message header")?;
    let (version, num_required_signatures) = if first & VERSION_PREFIX != 0 {
        match first & !VERSION_PREFIX {
            0 => (MessageVersion::V0, r.byte("message header")?),
            other => {
                return Err(r.error(
                    "message version",
                    format!("version {other} is not supported (only legacy and v0)"),
                ))
            }
        }
    } else {
        (MessageVersion::Legacy, first)
    };
    let num_readonly_signed = r.byte("message header")?;
    let num_readonly_unsigned = r.byte("message header")?;

    let key_count = r.short_len("account key count")?;
    let mut account_keys = Vec::with_capacity(key_count.min(256));
    for _ in 0..key_count {
        account_keys.push(Pubkey::from_slice(
            r.take(32, "account key")?,
            "account key",
        )?);
    }
    if (num_required_signatures as usize) > account_keys.len() {
        return Err(DecodeError::Inconsistent(format!(
            "{num_required_signatures} signers but only {} account keys",
            account_keys.len()
        )));
    }
    let mut recent_blockhash = [0u8; 32];
    recent_blockhash.copy_from_slice(r.take(32, "recent blockhash")?);

    let ix_count = r.short_len("instruction count")?;
    let mut instructions = Vec::with_capacity(ix_count.min(64));
    for _ in 0..ix_count {
        let program_id_index = r.byte("instruction program index")?;
        let accounts = r.short_vec("instruction accounts")?.to_vec();
        let data = r.short_vec("instruction data")?.to_vec();
        instructions.push(CompiledInstruction {
            program_id_index,
            accounts,
            data,
        });
    }

    let mut address_table_lookups = Vec::new();
    if version == MessageVersion::V0 {
        let count = r.short_len("lookup table count")?;
        for _ in 0..count {
            let table = Pubkey::from_slice(r.take(32, "lookup table key")?, "lookup table key")?;
            let writable_indexes = r.short_vec("lookup writable indexes")?.to_vec();
            let readonly_indexes = r.short_vec("lookup readonly indexes")?.to_vec();
            address_table_lookups.push(AddressTableLookup {
                table,
                writable_indexes,
                readonly_indexes,
            });
        }
    }
    Ok(WireMessage {
        version,
        num_required_signatures,
        num_readonly_signed,
        num_readonly_unsigned,
        account_keys,
        recent_blockhash,
        instructions,
        address_table_lookups,
    })
}

/// A cursor over the bytes that turns every short read into an error naming what was read.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, what: &'static str, reason: String) -> DecodeError {
        DecodeError::BinaryTransaction {
            what,
            offset: self.at,
            reason,
        }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let out = &self.bytes[self.at..end];
                self.at = end;
                Ok(out)
            }
            None => Err(self.error(
                what,
                format!(
                    "needs {n} bytes, only {} left",
                    self.bytes.len().saturating_sub(self.at)
                ),
            )),
        }
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    /// Solana's compact-u16: 7 bits per byte, low bits first, at most 3 bytes, canonical only
    /// (an alias encoding of the same number is refused, as the validator does).
    fn short_len(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let start = self.at;
        let mut value: u32 = 0;
        for i in 0..3 {
            let b = self.byte(what)?;
            value |= ((b & 0x7f) as u32) << (7 * i);
            if b & 0x80 == 0 {
                if i > 0 && b == 0 {
                    self.at = start;
                    return Err(self.error(what, "non-canonical compact-u16 length".into()));
                }
                if value > u16::MAX as u32 {
                    self.at = start;
                    return Err(self.error(what, "compact-u16 length above 65535".into()));
                }
                return Ok(value as usize);
            }
        }
        self.at = start;
        Err(self.error(what, "compact-u16 length longer than 3 bytes".into()))
    }

    fn short_vec(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let n = self.short_len(what)?;
        self.take(n, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short_vec(n: usize) -> Vec<u8> {
        let mut n = n;
        let mut out = Vec::new();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    /// A hand-built v0 transaction: 1 signature, 3 static keys, 1 instruction, 1 lookup.
    fn sample_v0() -> Vec<u8> {
        let mut out = short_vec(1);
        out.extend([7u8; 64]);
        out.push(0x80);
        out.extend([1, 0, 1]);
        out.extend(short_vec(3));
        for k in 1..=3u8 {
            out.extend([k; 32]);
        }
        out.extend([9u8; 32]);
        out.extend(short_vec(1));
        out.push(2);
        out.extend(short_vec(3));
        out.extend([0, 1, 3]);
        out.extend(short_vec(2));
        out.extend([0xAA, 0xBB]);
        out.extend(short_vec(1));
        out.extend([4u8; 32]);
        out.extend(short_vec(1));
        out.push(5);
        out.extend(short_vec(2));
        out.extend([6, 7]);
        out
    }

    fn sample_legacy() -> Vec<u8> {
        let mut out = short_vec(1);
        out.extend([7u8; 64]);
        out.extend([1, 0, 1]);
        out.extend(short_vec(2));
        out.extend([1u8; 32]);
        out.extend([2u8; 32]);
        out.extend([9u8; 32]);
        out.extend(short_vec(1));
        out.push(1);
        out.extend(short_vec(1));
        out.push(0);
        out.extend(short_vec(0));
        out
    }

    #[test]
    fn decodes_a_v0_message_with_a_lookup() {
        let tx = transaction_from_bytes(&sample_v0()).unwrap();
        assert_eq!(tx.signatures, vec![Signature([7; 64])]);
        let m = &tx.message;
        assert_eq!(m.version, MessageVersion::V0);
        assert_eq!(
            (
                m.num_required_signatures,
                m.num_readonly_signed,
                m.num_readonly_unsigned
            ),
            (1, 0, 1)
        );
        assert_eq!(
            m.account_keys,
            vec![Pubkey([1; 32]), Pubkey([2; 32]), Pubkey([3; 32])]
        );
        assert_eq!(m.recent_blockhash, [9; 32]);
        assert_eq!(
            m.instructions,
            vec![CompiledInstruction {
                program_id_index: 2,
                accounts: vec![0, 1, 3],
                data: vec![0xAA, 0xBB]
            }]
        );
        assert_eq!(m.address_table_lookups[0].table, Pubkey([4; 32]));
        assert_eq!(m.loaded_counts(), (1, 2));
    }

    #[test]
    fn decodes_a_legacy_message() {
        let tx = transaction_from_bytes(&sample_legacy()).unwrap();
        assert_eq!(tx.message.version, MessageVersion::Legacy);
        assert_eq!(tx.message.account_keys.len(), 2);
        assert!(tx.message.address_table_lookups.is_empty());
        assert_eq!(tx.message.instructions[0].accounts, vec![0]);
    }

    #[test]
    fn compact_u16_reads_multi_byte_lengths() {
        for n in [0usize, 1, 127, 128, 300, 16_383, 16_384, 65_535] {
            let bytes = short_vec(n);
            let mut r = Reader {
                bytes: &bytes,
                at: 0,
            };
            assert_eq!(r.short_len("n").unwrap(), n, "{bytes:?}");
            assert_eq!(r.at, bytes.len());
        }
    }

    #[test]
    fn compact_u16_refuses_aliases_and_overflow() {
        for bad in [
            &[0x80, 0x00][..],
            &[0xff, 0xff, 0x04],
            &[0x80, 0x80, 0x80, 0x01],
        ] {
            let mut r = Reader { bytes: bad, at: 0 };
            assert!(
                matches!(r.short_len("n"), Err(DecodeError::BinaryTransaction { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn every_truncation_is_an_error_naming_the_part() {
        for sample in [sample_v0(), sample_legacy()] {
            for cut in 0..sample.len() {
                let err = transaction_from_bytes(&sample[..cut]).unwrap_err();
                assert!(
                    matches!(err, DecodeError::BinaryTransaction { .. }),
                    "cut at {cut}: {err}"
                );
            }
        }
        let err = transaction_from_bytes(&sample_v0()[..70]).unwrap_err();
        assert!(
            err.to_string().contains("message header") || err.to_string().contains("account key"),
            "{err}"
        );
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let mut bytes = sample_legacy();
        bytes.push(0);
        let err = transaction_from_bytes(&bytes).unwrap_err();
        assert!(err.to_string().contains("1 trailing bytes"), "{err}");
    }

    #[test]
    fn unknown_message_version_is_refused() {
        let mut bytes = sample_v0();
        bytes[65] = 0x81;
        let err = transaction_from_bytes(&bytes).unwrap_err();
        assert!(
            err.to_string().contains("version 1 is not supported"),
            "{err}"
        );
    }

    #[test]
    fn signature_count_must_match_the_header() {
        let mut bytes = sample_legacy();
        bytes[65] = 2; // header says two signers, one signature present
        assert!(matches!(
            transaction_from_bytes(&bytes),
            Err(DecodeError::Inconsistent(_))
        ));
    }

    #[test]
    fn base64_text_is_decoded_and_bad_text_is_an_error() {
        let text = base64::engine::general_purpose::STANDARD.encode(sample_v0());
        assert!(transaction_from_base64(&text).is_ok());
        assert!(transaction_from_base64(text.trim_end_matches('=')).is_ok());
        assert!(matches!(
            transaction_from_base64("not base64 !!"),
            Err(DecodeError::Base64(_))
        ));
        assert!(matches!(
            transaction_from_base64(""),
            Err(DecodeError::BinaryTransaction { .. })
        ));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: every prefix and single-byte corruption of both samples.
        for sample in [sample_v0(), sample_legacy()] {
            for i in 0..sample.len() {
                for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                    let mut b = sample.clone();
                    b[i] = v;
                    let _ = transaction_from_bytes(&b);
                }
            }
        }
    }
}
