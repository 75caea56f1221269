//! The stream payload: a version byte, a prefilter byte, then the [`Transaction`] in msgpack
//! (rmp-serde, compact array form).
//!
//! The version byte lets a consumer refuse a payload it does not understand (it goes to the
//! dead-letter stream) instead of misreading it after a format change. The prefilter byte is the
//! verdict of [`prefilter`] computed once at ingest, so a consumer can drop votes, failures and
//! transactions without token balance changes by reading one byte, before any decoding.

use super::error::DecodeError;
use super::inference::prefilter;
use super::swap::FilterReason;
use super::transaction::Transaction;

/// The format this build writes and reads.
pub const WIRE_VERSION: u8 = 1;

/// Encodes a transaction into a fresh buffer.
pub fn encode(tx: &Transaction) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    encode_into(tx, &mut out);
    out
}

/// Encodes a transaction, appending to `out` (lets the ingest reuse one buffer).
pub fn encode_into(tx: &Transaction, out: &mut Vec<u8>) {
    out.push(WIRE_VERSION);
    out.push(filter_code(prefilter(tx)));
    // Writing into a Vec cannot fail, and every field of Transaction is serialisable.
    rmp_serde::encode::write(out, tx).expect("msgpack encoding into a Vec is infallible");
}

fn filter_code(reason: Option<FilterReason>) -> u8 {
    match reason {
        None => 0,
        Some(FilterReason::Vote) => 1,
        Some(FilterReason::Failed) => 2,
        Some(FilterReason::NoBalanceChange) => 3,
        Some(FilterReason::NotSwap) => 4,
    }
}

fn header(payload: &[u8]) -> Result<(u8, &[u8]), DecodeError> {
    let (&version, rest) = payload.split_first().ok_or(DecodeError::EmptyPayload)?;
    if version != WIRE_VERSION {
        return Err(DecodeError::UnknownWireVersion(version));
    }
    let (&code, body) = rest.split_first().ok_or(DecodeError::EmptyPayload)?;
    Ok((code, body))
}

/// The prefilter verdict stored at ingest, read without decoding the transaction.
pub fn peek_filter(payload: &[u8]) -> Result<Option<FilterReason>, DecodeError> {
    match header(payload)?.0 {
        0 => Ok(None),
        1 => Ok(Some(FilterReason::Vote)),
        2 => Ok(Some(FilterReason::Failed)),
        3 => Ok(Some(FilterReason::NoBalanceChange)),
        4 => Ok(Some(FilterReason::NotSwap)),
        other => Err(DecodeError::Msgpack(format!(
            "unknown prefilter code {other}"
        ))),
    }
}

/// Decodes a payload written by [`encode`]; checks the version and the transaction's indexes.
pub fn decode(payload: &[u8]) -> Result<Transaction, DecodeError> {
    let (_, body) = header(payload)?;
    let tx: Transaction =
        rmp_serde::from_slice(body).map_err(|e| DecodeError::Msgpack(e.to_string()))?;
    tx.validate()?;
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::sample_transaction;

    #[test]
    fn round_trips() {
        let tx = sample_transaction();
        assert_eq!(decode(&encode(&tx)).unwrap(), tx);
    }

    #[test]
    fn unknown_version_is_refused() {
        let mut payload = encode(&sample_transaction());
        payload[0] = 9;
        assert_eq!(decode(&payload), Err(DecodeError::UnknownWireVersion(9)));
    }

    #[test]
    fn prefilter_byte_is_readable_without_decoding() {
        let tx = sample_transaction();
        assert_eq!(peek_filter(&encode(&tx)), Ok(None));
        let mut failed = tx.clone();
        failed.failed = true;
        assert_eq!(
            peek_filter(&encode(&failed)),
            Ok(Some(FilterReason::Failed))
        );
        let mut still = tx;
        still.post_token_balances = still.pre_token_balances.clone();
        assert_eq!(
            peek_filter(&encode(&still)),
            Ok(Some(FilterReason::NoBalanceChange))
        );
    }

    #[test]
    fn empty_and_truncated_payloads_are_errors() {
        assert_eq!(decode(&[]), Err(DecodeError::EmptyPayload));
        let payload = encode(&sample_transaction());
        for cut in 1..payload.len() {
            assert!(decode(&payload[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn out_of_range_indexes_are_refused_after_decoding() {
        let mut tx = sample_transaction();
        tx.post_token_balances[0].account_index = 200;
        assert!(matches!(
            decode(&encode(&tx)),
            Err(DecodeError::IndexOutOfRange { .. })
        ));
    }
}
