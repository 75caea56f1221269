//! CTO score and risk levels (being written; see issue 4).
