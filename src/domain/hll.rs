//! Redis's HyperLogLog, reproduced bit for bit: the same hash (MurmurHash64A, seed 0xadc83b19),
//! the same 16,384 six-bit registers and the same estimator (Ertl's, Redis ≥ 5), so a count made
//! here equals what `PFCOUNT` answers over the same elements, unions included. The backtest counts
//! unique buyers and sellers this way, so its windows match the live detector's exactly rather
//! than within HyperLogLog's error.
//!
//! Elements are the bytes Redis was given: the base58 text of the wallet.

/// Register index bits (Redis `HLL_P`).
const P: u32 = 14;
/// Registers (Redis `HLL_REGISTERS`).
pub const REGISTERS: usize = 1 << P;
/// Hash bits left for the run length (Redis `HLL_Q`).
const Q: u32 = 64 - P;
const SEED: u64 = 0xadc8_3b19;
/// Redis `HLL_ALPHA_INF` (0.5 / ln 2).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// MurmurHash64A as Redis uses it (little-endian blocks).
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut k = u64::from_le_bytes(block.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, b) in tail.iter().enumerate() {
            h ^= u64::from(*b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element lands in and the run length it offers (Redis `hllPatLen`).
pub fn pattern(element: &[u8]) -> (u16, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as u16;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// A union of HyperLogLogs, built register by register (reusable: [`Union::clear`] only resets
/// the registers it touched).
#[derive(Debug, Clone)]
pub struct Union {
    registers: Vec<u8>,
    touched: Vec<u16>,
}

impl Default for Union {
    fn default() -> Self {
        Union {
            registers: vec![0; REGISTERS],
            touched: Vec::new(),
        }
    }
}

impl Union {
    /// Adds one element's `(register, run length)` (see [`pattern`]).
    pub fn add(&mut self, (index, rank): (u16, u8)) {
        let r = &mut self.registers[index as usize];
        if *r == 0 {
            self.touched.push(index);
        }
        if rank > *r {
            *r = rank;
        }
    }

    pub fn clear(&mut self) {
        for i in self.touched.drain(..) {
            self.registers[i as usize] = 0;
        }
    }

    /// What `PFCOUNT` answers for these registers (Redis `hllCount`).
    pub fn count(&self) -> u64 {
        let mut histogram = [0u32; 64];
        histogram[0] = (REGISTERS - self.touched.len()) as u32;
        for &i in &self.touched {
            histogram[self.registers[i as usize] as usize] += 1;
        }
        estimate(&histogram)
    }
}

/// Redis's estimator over a histogram of register values.
fn estimate(histogram: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - f64::from(histogram[q + 1])) / m);
    for j in (1..=q).rev() {
        z += f64::from(histogram[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(elements: &[String]) -> u64 {
        let mut u = Union::default();
        for e in elements {
            u.add(pattern(e.as_bytes()));
        }
        u.count()
    }

    #[test]
    fn murmur_of_nothing_with_seed_zero_is_zero_and_every_byte_matters() {
        assert_eq!(murmur64a(b"", 0), 0);
        // Tail bytes (1–7) and whole blocks both change the hash.
        let base = murmur64a(b"abcdefghijk", SEED);
        assert_ne!(base, murmur64a(b"abcdefghijK", SEED));
        assert_ne!(base, murmur64a(b"Abcdefghijk", SEED));
    }

    #[test]
    fn an_empty_union_counts_zero_and_repeats_count_once() {
        assert_eq!(Union::default().count(), 0);
        let one = vec!["a".to_string(); 10];
        assert_eq!(count(&one), 1);
    }

    #[test]
    fn counts_are_close_to_the_truth() {
        // Exact agreement with Redis is checked against a real server (tests/backtest_windows.rs).
        for n in [1usize, 2, 5, 50, 200] {
            let e: Vec<String> = (0..n).map(|i| format!("wallet-{i}")).collect();
            assert!(count(&e).abs_diff(n as u64) <= (n as u64 / 50), "{n}");
        }
        let e: Vec<String> = (0..100_000).map(|i| format!("wallet-{i}")).collect();
        let c = count(&e) as f64;
        assert!((c - 100_000.0).abs() / 100_000.0 < 0.02, "{c}");
    }

    #[test]
    fn clearing_resets_only_what_was_touched() {
        let mut u = Union::default();
        u.add(pattern(b"x"));
        u.add(pattern(b"y"));
        assert_eq!(u.count(), 2);
        u.clear();
        assert_eq!(u.count(), 0);
        u.add(pattern(b"x"));
        assert_eq!(u.count(), 1);
    }
}
