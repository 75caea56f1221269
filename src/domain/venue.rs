//! Which DEX a swap traded on, from the instructions rather than from their names.
//!
//! The pool side of a swap is the set of off-curve token accounts of the traded mint that moved
//! opposite to the trader. The venue is the first known pool program (AMM) whose instruction
//! touched one of those accounts — exact even for multi-hop routes and aggregators. When no AMM
//! instruction lists a pool account (venues that pass accounts indirectly), the order of invocation
//! decides: a buy's token comes from the last hop, a sell's token goes into the first.

use super::assets::{Venue, VenueKind, VenueTable};
use super::curve::is_on_curve;
use super::deltas::TokenAccountChange;
use super::pubkey::Pubkey;
use super::swap::Side;
use super::transaction::Transaction;

/// Known programs of one transaction, resolved once per transaction.
pub struct TxVenues {
    /// `(program index, venue, kind)` for each known program, in order of first invocation.
    known: Vec<(u8, Venue, VenueKind)>,
}

impl TxVenues {
    pub fn resolve(tx: &Transaction, table: &VenueTable) -> Self {
        let mut known: Vec<(u8, Venue, VenueKind)> = Vec::new();
        let mut seen: Vec<u8> = Vec::new();
        for &p in &tx.instructions.programs {
            if seen.contains(&p) {
                continue;
            }
            seen.push(p);
            if let Some((venue, kind)) = tx
                .account_keys
                .get(p as usize)
                .and_then(|k| table.lookup(k))
            {
                known.push((p, venue, kind));
            }
        }
        TxVenues { known }
    }

    fn amm(&self, program: u8) -> Option<Venue> {
        self.known
            .iter()
            .find(|(p, _, kind)| *p == program && *kind == VenueKind::Amm)
            .map(|(_, v, _)| *v)
    }

    /// The venue of `trader`'s trade of `mint`; `side` is the trader's side in that mint
    /// (buy = the trader received it).
    pub fn venue_for(
        &self,
        tx: &Transaction,
        changes: &[TokenAccountChange],
        trader: &Pubkey,
        mint: &Pubkey,
        side: Side,
    ) -> Venue {
        if self.known.is_empty() {
            return Venue::UNKNOWN;
        }
        // Pool-side accounts, the one that moved most first (it decides a split route).
        let mut pool: Vec<(u8, u128)> = changes
            .iter()
            .filter(|c| {
                &c.mint == mint
                    && &c.owner != trader
                    && match side {
                        Side::Buy => c.delta() < 0,
                        Side::Sell => c.delta() > 0,
                    }
                    && !is_on_curve(&c.owner)
            })
            .map(|c| (c.account_index, c.delta().unsigned_abs()))
            .collect();
        pool.sort_by_key(|&(_, moved)| std::cmp::Reverse(moved));
        let found = pool
            .iter()
            .find_map(|(account, _)| self.mover_of(tx, *account))
            .or_else(|| {
                pool.iter()
                    .find_map(|(account, _)| self.first_listing(tx, *account))
            });
        if let Some(venue) = found {
            return venue;
        }
        let mut amms = self.known.iter().filter(|(_, _, k)| *k == VenueKind::Amm);
        let by_order = match side {
            Side::Buy => amms.next_back(),
            Side::Sell => amms.next(),
        };
        by_order
            .or_else(|| self.known.first())
            .map_or(Venue::UNKNOWN, |(_, v, _)| *v)
    }

    /// The innermost AMM on the call stack when a non-AMM instruction (the token transfer) touched
    /// `account`: the program that actually moved the pool's tokens. Needs call depths, which
    /// transactions since 2023 carry.
    fn mover_of(&self, tx: &Transaction, account: u8) -> Option<Venue> {
        let mut stack: Vec<(u8, Venue)> = Vec::new();
        for (program, depth, accounts) in tx.instructions.iter() {
            while stack.last().is_some_and(|(d, _)| *d >= depth) {
                stack.pop();
            }
            match self.amm(program) {
                Some(venue) => stack.push((depth, venue)),
                None => {
                    if let (Some((_, venue)), true) = (stack.last(), accounts.contains(&account)) {
                        return Some(*venue);
                    }
                }
            }
        }
        None
    }

    /// The first AMM instruction that lists `account` (for sources without call depths).
    fn first_listing(&self, tx: &Transaction, account: u8) -> Option<Venue> {
        tx.instructions
            .iter()
            .find(|(program, _, accounts)| {
                self.amm(*program).is_some() && accounts.contains(&account)
            })
            .and_then(|(program, _, _)| self.amm(program))
    }
}
