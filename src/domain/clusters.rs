//! Linked-wallet clusters (being written; see issue 4).
