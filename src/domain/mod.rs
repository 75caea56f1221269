//! Pure domain logic: no I/O, no clocks, no global state besides a per-thread cache of curve checks.
//!
//! - [`transaction`]: the compact transaction; [`rpc_json`] and [`proto`] build it; [`wire`] is
//!   its stream encoding.
//! - [`deltas`]: per-owner balance changes; [`inference`]: swaps from them; [`venue`]: where they
//!   traded; [`sol_price`]: SOL value of stable-quoted swaps.

pub mod assets;
mod compact_serde;
pub mod counters;
pub mod curve;
pub mod deltas;
pub mod error;
pub mod inference;
pub mod proto;
pub mod pubkey;
pub mod rpc_json;
pub mod sol_price;
pub mod swap;
#[doc(hidden)]
pub mod test_support;
pub mod transaction;
pub mod venue;
pub mod wire;

pub use assets::{Asset, QuoteAssets, Venue, VenueKind, VenueTable, WSOL_MINT};
pub use error::DecodeError;
pub use inference::{infer_swaps, prefilter, InferenceConfig};
pub use pubkey::{Pubkey, Signature};
pub use swap::{FilterDetail, FilterReason, Filtered, Side, Swap, Verdict};
pub use transaction::{Instructions, TokenBalance, Transaction};
