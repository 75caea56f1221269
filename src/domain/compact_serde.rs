//! Serde helpers that store small-integer vectors as one msgpack `bin` instead of an array of
//! integers: decoding becomes one copy instead of one dispatch per element (the parser's hot path).

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// `Vec<u8>` as bytes.
pub mod bytes {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_bytes(ByteVecVisitor)
    }

    struct ByteVecVisitor;

    impl<'de> Visitor<'de> for ByteVecVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("bytes")
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
            Ok(v)
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(b) = seq.next_element()? {
                out.push(b);
            }
            Ok(out)
        }
    }
}

/// `Vec<u16>` as little-endian bytes.
pub mod u16s {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u16], s: S) -> Result<S::Ok, S::Error> {
        let raw: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_bytes(&raw)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u16>, D::Error> {
        let raw = super::bytes::deserialize(d)?;
        if raw.len() % 2 != 0 {
            return Err(de::Error::invalid_length(
                raw.len(),
                &"an even number of bytes",
            ));
        }
        Ok(raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect())
    }
}

/// `Vec<u64>` as little-endian bytes (lamport balances: fixed 8 bytes beat msgpack's 9 for the
/// typical balance above 4.3 SOL, and decode as one copy).
pub mod u64s {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let raw: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_bytes(&raw)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let raw = super::bytes::deserialize(d)?;
        if raw.len() % 8 != 0 {
            return Err(de::Error::invalid_length(
                raw.len(),
                &"a multiple of 8 bytes",
            ));
        }
        Ok(raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8-byte chunk")))
            .collect())
    }
}

/// `Vec<Pubkey>` as one run of 32-byte keys.
pub mod keys {
    use super::*;
    use crate::domain::pubkey::Pubkey;

    pub fn serialize<S: Serializer>(v: &[Pubkey], s: S) -> Result<S::Ok, S::Error> {
        let raw: Vec<u8> = v.iter().flat_map(|k| k.0).collect();
        s.serialize_bytes(&raw)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Pubkey>, D::Error> {
        let raw = super::bytes::deserialize(d)?;
        if raw.len() % 32 != 0 {
            return Err(de::Error::invalid_length(
                raw.len(),
                &"a multiple of 32 bytes",
            ));
        }
        Ok(raw
            .chunks_exact(32)
            .map(|c| Pubkey(c.try_into().expect("32-byte chunk")))
            .collect())
    }
}
