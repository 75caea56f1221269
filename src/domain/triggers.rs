//! Trigger grammar and evaluation (being written; see issue 4).
