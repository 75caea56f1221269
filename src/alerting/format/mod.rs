//! Alert → message, as pure functions: [`discord`] builds the webhook's JSON body, [`telegram`]
//! the `sendMessage` body in MarkdownV2; [`common`] holds what both show the same way.

pub mod common;
pub mod digest;
pub mod discord;
pub mod telegram;

pub use common::RiskLevel;
pub use digest::{discord_digest_body, telegram_digest_body};
pub use discord::discord_body;
pub use telegram::telegram_body;
