//! Pure domain logic: no I/O, no clocks, no global state besides a per-thread cache of curve checks.
//!
//! - [`transaction`]: the compact transaction; [`rpc_json`] and [`proto`] build it; [`wire`] is
//!   its stream encoding; [`solana_wire`] reads Solana's binary transactions (RPC `base64`).
//! - [`windows`]: the 18 window metrics; [`triggers`]: the condition grammar and evaluation;
//!   [`cto`]: the CTO score and risk levels; [`clusters`]: linked-wallet groups; [`alert`]: what an
//!   alert carries; [`alert_assembly`]: a match and its facts into the alert; [`alert_policy`]:
//!   which match becomes an alert (cooldowns, HOT), shared by the detector and the backtest.
//! - [`funding`]: who funded a wallet, funding chains, labelled wallets; [`wallet_links`]: shared
//!   fee payers and SOL sent between buyers.
//! - [`deltas`]: per-owner balance changes; [`inference`]: swaps from them; [`venue`]: where they
//!   traded; [`sol_price`]: SOL value of stable-quoted swaps.

pub mod alert;
pub mod alert_assembly;
pub mod alert_policy;
pub mod assets;
pub mod clusters;
mod compact_serde;
pub mod counters;
pub mod cto;
pub mod curve;
pub mod deltas;
pub mod error;
pub mod first_seen;
pub mod funding;
pub mod hll;
pub mod inference;
pub mod outcome;
pub mod proto;
pub mod pubkey;
pub mod rpc_json;
pub mod sol_price;
pub mod solana_wire;
pub mod swap;
#[doc(hidden)]
pub mod test_support;
pub mod transaction;
pub mod triggers;
pub mod venue;
pub mod wallet_links;
pub mod windows;
pub mod wire;

pub use assets::{Asset, QuoteAssets, Venue, VenueKind, VenueTable, WSOL_MINT};
pub use error::DecodeError;
pub use inference::{infer_swaps, prefilter, InferenceConfig};
pub use pubkey::{Pubkey, Signature};
pub use swap::{FilterDetail, FilterReason, Filtered, Side, Swap, Verdict};
pub use transaction::{Instructions, TokenBalance, Transaction};
