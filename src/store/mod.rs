//! Everything that talks to Redis or PostgreSQL. Actors call these functions; nothing here knows
//! about actors.
//!
//! - [`redis`]: key names, the transaction stream, the atomic batch commit.

pub mod postgres;
pub mod redis;
