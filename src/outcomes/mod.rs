//! Alert outcomes in the daemon: the detect role's leader fills `alert_outcomes` as each horizon
//! passes ([`filler`]). The SQL is in `store::postgres::outcomes`, the arithmetic in
//! `domain::outcome`.

pub mod filler;
