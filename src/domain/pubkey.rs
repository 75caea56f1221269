//! 32-byte account keys and 64-byte signatures.
//!
//! Kept as raw bytes end to end (wire format, inference, aggregation) because base58 encoding costs
//! about a microsecond per key: it is done only where a human or a Redis key needs the text.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::DecodeError;

/// A Solana account address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pubkey(pub [u8; 32]);

impl std::hash::Hash for Pubkey {
    /// Keys are hashes or curve points, so eight of their bytes are already a good hash. The last
    /// eight: vanity grinding controls the leading base58 characters, i.e. the first bytes.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let tail: [u8; 8] = self.0[24..].try_into().expect("8 bytes");
        state.write_u64(u64::from_le_bytes(tail));
    }
}

/// A hasher for [`Pubkey`]-keyed maps: passes the key's own bytes through (see `Hash for Pubkey`).
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached for non-Pubkey keys; fold the bytes in (FNV-1a) so it still works.
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// `HashMap` keyed by [`Pubkey`] with the pass-through hasher.
pub type KeyMap<V> = std::collections::HashMap<Pubkey, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// A transaction signature (the transaction's id on chain).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl Default for Signature {
    fn default() -> Self {
        Signature([0; 64])
    }
}

fn invalid(text: &str, field: &'static str) -> DecodeError {
    DecodeError::InvalidKey {
        field,
        value: text.chars().take(100).collect(),
    }
}

impl Pubkey {
    /// Base58 text (five8: the specialised 32-byte codec, about ten times faster than a general
    /// base58 encoder — keys are encoded for every Redis key name and every stored row).
    pub fn to_base58(&self) -> String {
        let mut out = [0u8; five8::BASE58_ENCODED_32_MAX_LEN];
        let len = five8::encode_32(&self.0, &mut out) as usize;
        String::from_utf8_lossy(&out[..len]).into_owned()
    }
}

impl Signature {
    pub fn to_base58(&self) -> String {
        let mut out = [0u8; five8::BASE58_ENCODED_64_MAX_LEN];
        let len = five8::encode_64(&self.0, &mut out) as usize;
        String::from_utf8_lossy(&out[..len]).into_owned()
    }
}

impl Pubkey {
    /// Parses base58 text; `field` names the input for the error message.
    pub fn parse(text: &str, field: &'static str) -> Result<Self, DecodeError> {
        let mut out = [0u8; 32];
        five8::decode_32(text.as_bytes(), &mut out).map_err(|_| invalid(text, field))?;
        Ok(Pubkey(out))
    }

    /// Builds a key from raw bytes (protobuf carries keys as bytes).
    pub fn from_slice(bytes: &[u8], field: &'static str) -> Result<Self, DecodeError> {
        <[u8; 32]>::try_from(bytes)
            .map(Pubkey)
            .map_err(|_| DecodeError::InvalidLength {
                field,
                expected: 32,
                got: bytes.len(),
            })
    }
}

impl Signature {
    /// Parses base58 text; `field` names the input for the error message.
    pub fn parse(text: &str, field: &'static str) -> Result<Self, DecodeError> {
        let mut out = [0u8; 64];
        five8::decode_64(text.as_bytes(), &mut out).map_err(|_| invalid(text, field))?;
        Ok(Signature(out))
    }

    /// Builds a signature from raw bytes (protobuf carries signatures as bytes).
    pub fn from_slice(bytes: &[u8], field: &'static str) -> Result<Self, DecodeError> {
        <[u8; 64]>::try_from(bytes)
            .map(Signature)
            .map_err(|_| DecodeError::InvalidLength {
                field,
                expected: 64,
                got: bytes.len(),
            })
    }
}

impl FromStr for Pubkey {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pubkey::parse(s, "pubkey")
    }
}

impl FromStr for Signature {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Signature::parse(s, "signature")
    }
}

impl fmt::Display for Pubkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base58())
    }
}

impl fmt::Debug for Pubkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pubkey({self})")
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base58())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

struct FixedBytesVisitor<const N: usize>;

impl<'de, const N: usize> Visitor<'de> for FixedBytesVisitor<N> {
    type Value = [u8; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{N} bytes")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        <[u8; N]>::try_from(v).map_err(|_| E::invalid_length(v.len(), &self))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = [0u8; N];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        Ok(out)
    }
}

impl Serialize for Pubkey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Pubkey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_bytes(FixedBytesVisitor::<32>).map(Pubkey)
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_bytes(FixedBytesVisitor::<64>).map(Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58_round_trips() {
        let text = "So11111111111111111111111111111111111111112";
        let key: Pubkey = text.parse().unwrap();
        assert_eq!(key.to_string(), text);
    }

    #[test]
    fn system_program_is_all_zero() {
        let key: Pubkey = "11111111111111111111111111111111".parse().unwrap();
        assert_eq!(key.0, [0u8; 32]);
    }

    #[test]
    fn wrong_length_is_an_error_naming_the_field() {
        let err = Pubkey::parse("abc", "mint").unwrap_err();
        assert!(err.to_string().contains("mint"), "{err}");
        let err = Signature::parse("So11111111111111111111111111111111111111112", "signature")
            .unwrap_err();
        assert!(err.to_string().contains("signature"), "{err}");
        assert!(Pubkey::from_slice(&[1, 2, 3], "owner").is_err());
    }

    #[test]
    fn agrees_with_a_general_base58_codec() {
        for seed in 0..200u32 {
            let mut k = [0u8; 32];
            for (i, b) in k.iter_mut().enumerate() {
                *b = (seed.wrapping_mul(2_654_435_761).rotate_left(i as u32) >> 7) as u8;
            }
            if seed % 7 == 0 {
                k[..(seed as usize % 5)].fill(0); // leading zeros become leading '1's
            }
            let text = bs58::encode(k).into_string();
            assert_eq!(Pubkey(k).to_string(), text);
            assert_eq!(Pubkey::parse(&text, "k").unwrap(), Pubkey(k));
            let mut s = [0u8; 64];
            s[..32].copy_from_slice(&k);
            s[32..].copy_from_slice(&k);
            let text = bs58::encode(s).into_string();
            assert_eq!(Signature(s).to_string(), text);
            assert_eq!(Signature::parse(&text, "s").unwrap(), Signature(s));
        }
    }

    #[test]
    fn invalid_alphabet_is_an_error() {
        assert!(Pubkey::parse("0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl", "owner").is_err());
    }
}
