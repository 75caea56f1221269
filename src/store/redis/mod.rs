//! Redis: the transaction stream and its consumer group, the counters, and the one atomic commit
//! that closes a batch.
//!
//! - [`keys`]: every key name, in one place.
//! - [`stream`]: XADD / XREADGROUP / XAUTOCLAIM / group management, parsed into plain structs.
//! - [`commit`]: the batch commit script (ownership check, duplicate guard, counters, dead
//!   letters, XACK — all or nothing).

pub mod commit;
pub mod keys;
pub mod stream;
