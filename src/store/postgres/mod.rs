//! PostgreSQL: the schema (embedded migrations), the connection pool, and the swap store.
//!
//! - [`pool`]: [`connect`] builds a [`PgPool`] whose every wait is bounded (connect, checkout,
//!   statement), so a down server gives an error, never a hang, and the pool recovers by itself.
//! - [`migrate`]: [`run_migrations`] / [`run_migrations_blocking`] apply `migrations/`.
//! - [`swaps`]: [`insert_swaps`] (idempotent on `(signature, leg)`, all or nothing per call) and
//!   [`delete_swaps_before`] (retention in bounded batches).
//! - [`swap_copy`]: [`CopyPool`], the same insert through `COPY … BINARY` on its own
//!   tokio-postgres connections; [`write_swaps`] picks it for batches of [`COPY_MIN_ROWS`] or more.
//! - [`tokens`]: what the detector reads and writes about a token (price, venue, supply cache, HOT
//!   history, linked buyers).
//! - [`error`]: [`PgError`], which never carries a database password.
//!
//! Only diesel-async's `RunQueryDsl` is imported in this module tree (diesel's own would make
//! `execute` ambiguous).

pub mod alerts;
pub mod error;
pub mod migrate;
pub mod outcomes;
pub mod pool;
pub mod swap_copy;
pub mod swap_history;
pub mod swaps;
pub mod tokens;
pub mod wallets;

pub use error::PgError;
pub use migrate::{migration_names, run_migrations, run_migrations_blocking, MIGRATIONS};
pub use pool::{connect, PgConn, PgPool, CHECKOUT_TIMEOUT, CONNECT_TIMEOUT, STATEMENT_TIMEOUT};
pub use swap_copy::CopyPool;
pub use swaps::{
    delete_swaps_before, insert_swaps, insert_swaps_within, uses_copy, write_swaps, SwapRow,
    COPY_MIN_ROWS, INSERT_CHUNK_ROWS,
};
