//! Redis: the transaction stream and its consumer group, the counters, and the one atomic commit
//! that closes a batch.
//!
//! - [`keys`]: every key name, in one place.
//! - [`stream`]: XADD / XREADGROUP / XAUTOCLAIM / group management, parsed into plain structs.
//! - [`commit`]: the batch commit script (ownership check, duplicate guard, counters, dead
//!   letters, XACK — all or nothing).
//! - [`windows`]: the sliding windows of many mints per round trip.
//! - [`detect_index`]: touched, active and HOT mints, the chain clock (the detector's reads).
//! - [`lease`]: the detector lease (one acting detector, fenced); [`alert_claim`]: an alert
//!   decision with its cooldown and HOT state, atomically.

pub mod alert_claim;
pub mod commit;
pub mod detect_index;
pub mod keys;
pub mod lease;
pub mod stream;
pub mod windows;
