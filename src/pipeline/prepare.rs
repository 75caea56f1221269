//! Stage 2: parsed entries → one commit plan: which entries to acknowledge, which signatures to
//! guard, which dead letters to write, and the aggregated counter deltas.
//!
//! Re-planning after a refused commit (entries taken over by another consumer, signatures already
//! counted) is the same function with those excluded, so the retry can never count them.

use std::collections::HashSet;

use super::parse::{Outcome, ParsedEntry};
use crate::domain::counters::CounterDeltas;
use crate::domain::{FilterReason, QuoteAssets, Signature, Swap};
use crate::store::redis::commit::DeadLetter;
use crate::store::redis::stream::EntryId;

/// Everything one commit needs, plus the counts metrics report after it succeeds.
#[derive(Debug, Default)]
pub struct Plan {
    pub ids: Vec<EntryId>,
    pub markers: Vec<(u64, Signature)>,
    pub dead: Vec<DeadLetter>,
    pub deltas: CounterDeltas,
    pub filtered: Vec<(FilterReason, u64)>,
    /// Entries acknowledged without effects because their signature was already counted.
    pub duplicates: u64,
    /// Oldest entry id of the plan (end-to-end latency).
    pub oldest: Option<EntryId>,
}

/// Builds the plan. `not_owned` entries are left out entirely (their new owner commits them);
/// entries whose signature is in `counted` are acknowledged without effects, and so is every
/// repeat of a signature within the batch after its first entry.
pub fn plan(
    parsed: &[ParsedEntry],
    not_owned: &HashSet<EntryId>,
    counted: &HashSet<Signature>,
    quotes: &QuoteAssets,
) -> Plan {
    let mut plan = Plan::default();
    let mut seen: HashSet<Signature> = HashSet::new();
    let mut filtered = [0u64; 4];
    for entry in parsed.iter().filter(|e| !not_owned.contains(&e.id)) {
        plan.ids.push(entry.id);
        plan.oldest = Some(plan.oldest.map_or(entry.id, |o: EntryId| o.min(entry.id)));
        match &entry.outcome {
            Outcome::Filtered(reason) => {
                let i = FilterReason::ALL
                    .iter()
                    .position(|r| r == reason)
                    .unwrap_or(3);
                filtered[i] += 1;
            }
            Outcome::Dead(d) => plan.dead.push(d.clone()),
            Outcome::Swaps {
                slot,
                signature,
                block_time,
                swaps,
            } => {
                if counted.contains(signature) || !seen.insert(*signature) {
                    plan.duplicates += 1;
                    continue;
                }
                plan.markers.push((*slot, *signature));
                for s in swaps {
                    plan.deltas.add(s, *block_time, quotes);
                }
            }
        }
    }
    plan.filtered = FilterReason::ALL
        .iter()
        .zip(filtered)
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| (*r, n))
        .collect();
    plan
}

/// Swaps to persist with their block times: each signature's first entry only (the rows' unique
/// key makes later copies harmless anyway).
pub fn swaps_to_store(parsed: &[ParsedEntry]) -> Vec<(&Swap, i64)> {
    let mut seen: HashSet<Signature> = HashSet::new();
    parsed
        .iter()
        .filter_map(|e| match &e.outcome {
            Outcome::Swaps {
                signature,
                block_time,
                swaps,
                ..
            } if seen.insert(*signature) => Some(swaps.iter().map(move |s| (s, *block_time))),
            _ => None,
        })
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::key;
    use crate::domain::{Side, Venue, WSOL_MINT};

    fn swap(sig: u8) -> Swap {
        Swap {
            signature: Signature([sig; 64]),
            slot: 9,
            block_time: Some(600),
            leg: 0,
            wallet: key(1),
            fee_payer: key(1),
            side: Side::Buy,
            mint: key(50),
            amount: 1,
            decimals: 6,
            quote_mint: WSOL_MINT,
            quote_amount: 5,
            quote_decimals: 9,
            sol_value_lamports: Some(5),
            venue: Venue::UNKNOWN,
        }
    }

    fn swaps_entry(seq: u64, sig: u8) -> ParsedEntry {
        ParsedEntry {
            id: EntryId { ms: 1, seq },
            outcome: Outcome::Swaps {
                slot: 9,
                signature: Signature([sig; 64]),
                block_time: 600,
                swaps: vec![swap(sig)],
            },
        }
    }

    #[test]
    fn every_entry_is_acknowledged_and_only_swaps_are_counted() {
        let parsed = vec![
            swaps_entry(0, 1),
            ParsedEntry {
                id: EntryId { ms: 1, seq: 1 },
                outcome: Outcome::Filtered(FilterReason::NotSwap),
            },
            ParsedEntry {
                id: EntryId { ms: 1, seq: 2 },
                outcome: Outcome::Dead(DeadLetter {
                    id: EntryId { ms: 1, seq: 2 },
                    reason: "panic: x".into(),
                    payload: vec![],
                }),
            },
        ];
        let p = plan(
            &parsed,
            &HashSet::new(),
            &HashSet::new(),
            &QuoteAssets::default(),
        );
        assert_eq!(p.ids.len(), 3);
        assert_eq!(p.markers.len(), 1);
        assert_eq!(p.dead.len(), 1);
        assert_eq!(p.deltas.swaps, 1);
        assert_eq!(p.filtered, vec![(FilterReason::NotSwap, 1)]);
    }

    #[test]
    fn a_signature_twice_in_one_batch_is_counted_once() {
        let parsed = vec![swaps_entry(0, 1), swaps_entry(1, 1)];
        let p = plan(
            &parsed,
            &HashSet::new(),
            &HashSet::new(),
            &QuoteAssets::default(),
        );
        assert_eq!(
            (p.ids.len(), p.markers.len(), p.duplicates, p.deltas.swaps),
            (2, 1, 1, 1)
        );
        assert_eq!(swaps_to_store(&parsed).len(), 1);
    }

    #[test]
    fn replanning_excludes_lost_entries_and_counted_signatures() {
        let parsed = vec![swaps_entry(0, 1), swaps_entry(1, 2), swaps_entry(2, 3)];
        let lost: HashSet<EntryId> = [EntryId { ms: 1, seq: 0 }].into();
        let counted: HashSet<Signature> = [Signature([2; 64])].into();
        let p = plan(&parsed, &lost, &counted, &QuoteAssets::default());
        assert_eq!(
            p.ids,
            vec![EntryId { ms: 1, seq: 1 }, EntryId { ms: 1, seq: 2 }]
        );
        assert_eq!(p.markers, vec![(9, Signature([3; 64]))]);
        assert_eq!((p.duplicates, p.deltas.swaps), (1, 1));
    }
}
