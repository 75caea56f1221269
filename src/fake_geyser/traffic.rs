//! The fake feed's traffic: a deterministic, endless sequence of transactions built from fixtures,
//! or a finite [script](super::script).
//!
//! Generated: sequence number `seq` is a copy of fixture `seq % F` in slot
//! `start_slot + seq / tx_per_slot` at index `seq % tx_per_slot`, with a fresh signature and fresh
//! wallets and mints, all derived from `(seed, seq)` only. So the same `seq` is always the same
//! transaction, byte for byte: a replay after a reconnect is a true duplicate, and a test can
//! compute what a client must receive. Scripted: `seq` is entry `seq` of the script, as given.

use std::borrow::Cow;
use std::path::Path;
use std::sync::OnceLock;

use curve25519_dalek::edwards::CompressedEdwardsY;
use yellowstone_grpc_proto::prelude::{
    BlockHeight, SubscribeUpdateBlockMeta, SubscribeUpdateTransaction, UnixTimestamp,
};

use crate::domain::curve::is_on_curve;
use crate::domain::proto::to_update;
use crate::domain::rpc_json::transactions_from_json_text;
use crate::domain::{Pubkey, Signature, Transaction, WSOL_MINT};

use super::script::{self, Script, ScriptedTx};
use super::FakeGeyserError;

/// Block time of the first slot; later slots follow at 400 ms per slot.
pub const BASE_BLOCK_TIME: i64 = 1_700_000_000;

const USDC_MINT: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
const USDT_MINT: &str = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB";

/// Shape of the traffic (everything but the fixtures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficParams {
    pub start_slot: u64,
    pub tx_per_slot: u64,
    /// Size of the wallet pool (on-curve keys).
    pub wallets: usize,
    /// Size of the mint pool.
    pub mints: usize,
    /// How concentrated trading is on a few mints.
    pub mint_skew: MintSkew,
    pub seed: u64,
    /// Per mille of wallet draws that take a never-seen wallet instead of a pool one (0 = off,
    /// the fixed pool only). A fixed pool hides first-seen growth in soaks; with inflow every
    /// such draw is a new on-curve key made from a counter (`seq` and the key's position), so it
    /// costs no memory and the same `seq` still gives the same transaction.
    pub fresh_wallets_per_mille: u16,
}

/// The exponent `s` of the Zipf-like law mints are drawn from: mint `k` (0-based) is drawn with a
/// weight of about `(k + 1)^-s`. 0 is uniform (every mint equally traded, the worst case for
/// aggregation); 1 (the default) is log-uniform, near what mainnet DEX flow looks like (a handful
/// of hot tokens, a long tail); larger values concentrate further.
#[derive(Debug, Clone, Copy)]
pub struct MintSkew(f64);

impl MintSkew {
    /// Above this nearly every trade lands on the first mint, which tests nothing new.
    pub const MAX: f64 = 4.0;
    pub const UNIFORM: MintSkew = MintSkew(0.0);
    pub const LOG_UNIFORM: MintSkew = MintSkew(1.0);

    /// A skew in `0..=MAX`; the error says what is accepted.
    pub fn new(exponent: f64) -> Result<Self, String> {
        if exponent.is_finite() && (0.0..=Self::MAX).contains(&exponent) {
            Ok(MintSkew(exponent))
        } else {
            Err(format!(
                "mint skew must be a number from 0 (uniform) to {} (got {exponent}); 1 is the default, log-uniform",
                Self::MAX
            ))
        }
    }

    pub fn exponent(self) -> f64 {
        self.0
    }
}

impl Default for MintSkew {
    fn default() -> Self {
        Self::LOG_UNIFORM
    }
}

/// Exponents compare by value; `new` refuses NaN, so this is a true equivalence.
impl PartialEq for MintSkew {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for MintSkew {}

impl std::str::FromStr for MintSkew {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let exponent: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("mint skew must be a number, e.g. 0, 1 or 1.5 (got {s:?})"))?;
        MintSkew::new(exponent)
    }
}

impl Default for TrafficParams {
    fn default() -> Self {
        TrafficParams {
            start_slot: 300_000_000,
            tx_per_slot: 40,
            wallets: 20_000,
            mints: 2_000,
            mint_skew: MintSkew::default(),
            seed: 1,
            fresh_wallets_per_mille: 0,
        }
    }
}

/// Most per-mille value [`TrafficParams::fresh_wallets_per_mille`] takes (every wallet fresh).
pub const MAX_FRESH_WALLETS_PER_MILLE: u16 = 1_000;

/// A fixture with the keys that get replaced in each copy, found once, and its protobuf update,
/// which each copy clones and patches (building it afresh costs ~30 µs of base58 per update).
struct Template {
    tx: Transaction,
    /// Keys replaced in each copy: on-curve signers and on-curve token-balance owners (drawn from
    /// the wallet pool), then non-quote mints (drawn from the mint pool), in order of first
    /// appearance. A copy's replacements are indexed like this list.
    originals: Vec<Pubkey>,
    wallets: usize,
    /// `(position in account_keys, replacement)` for every key to replace.
    key_patches: Vec<(usize, usize)>,
    /// `(post?, balance index, owner replacement, mint replacement)`.
    balance_patches: Vec<BalancePatch>,
    update: SubscribeUpdateTransaction,
}

type BalancePatch = (bool, usize, Option<usize>, Option<usize>);

impl Template {
    fn new(tx: Transaction, quotes: &[Pubkey; 3]) -> Self {
        let mut wallets: Vec<Pubkey> = Vec::new();
        let mut mints: Vec<Pubkey> = Vec::new();
        let balances = tx.pre_token_balances.iter().chain(&tx.post_token_balances);
        let candidates = tx
            .signers()
            .iter()
            .copied()
            .chain(balances.clone().map(|b| b.owner));
        for key in candidates {
            if !wallets.contains(&key) && is_on_curve(&key) {
                wallets.push(key);
            }
        }
        for b in balances {
            if !quotes.contains(&b.mint) && !mints.contains(&b.mint) {
                mints.push(b.mint);
            }
        }
        let n_wallets = wallets.len();
        let mut originals = wallets;
        originals.extend(mints);
        let find = |key: &Pubkey| originals.iter().position(|o| o == key);
        let key_patches = tx
            .account_keys
            .iter()
            .enumerate()
            .filter_map(|(pos, key)| find(key).map(|r| (pos, r)))
            .collect();
        let mut balance_patches = Vec::new();
        for (post, list) in [
            (false, &tx.pre_token_balances),
            (true, &tx.post_token_balances),
        ] {
            for (i, b) in list.iter().enumerate() {
                let owner = find(&b.owner);
                let mint = if quotes.contains(&b.mint) {
                    None
                } else {
                    find(&b.mint)
                };
                if owner.is_some() || mint.is_some() {
                    balance_patches.push((post, i, owner, mint));
                }
            }
        }
        let update = to_update(&tx);
        Template {
            tx,
            originals,
            wallets: n_wallets,
            key_patches,
            balance_patches,
            update,
        }
    }
}

/// A pool key and its base58 text (token balances carry owners and mints as text).
#[derive(Clone)]
struct PoolKey {
    key: Pubkey,
    text: String,
}

/// Deterministic keys generated on first use and cached (an on-curve key costs a point
/// decompression, a few microseconds, so the 20,000 wallets are not all made up front).
struct KeyPool {
    keys: Vec<OnceLock<PoolKey>>,
    seed: u64,
    on_curve: bool,
}

impl KeyPool {
    fn new(size: usize, seed: u64, on_curve: bool) -> Self {
        KeyPool {
            keys: (0..size).map(|_| OnceLock::new()).collect(),
            seed,
            on_curve,
        }
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn get(&self, i: usize) -> &PoolKey {
        self.keys[i].get_or_init(|| self.make(i as u64))
    }

    /// Key `i` of the pool's endless sequence, not cached: the pool holds `0..len()`; fresh
    /// wallets are taken from `len()` on, so they never repeat a pool key's derivation.
    fn make(&self, i: u64) -> PoolKey {
        let key = self.generate(i);
        PoolKey {
            key,
            text: key.to_string(),
        }
    }

    fn generate(&self, i: u64) -> Pubkey {
        let base = mix(self.seed, i);
        for attempt in 0u64.. {
            let mut bytes = [0u8; 32];
            for (w, chunk) in bytes.chunks_exact_mut(8).enumerate() {
                chunk.copy_from_slice(&mix(base, attempt * 4 + w as u64).to_le_bytes());
            }
            // Not `domain::curve::is_on_curve`: its per-thread cache is meant for keys that recur.
            if !self.on_curve || CompressedEdwardsY(bytes).decompress().is_some() {
                return Pubkey(bytes);
            }
        }
        unreachable!("about half of all 32-byte strings are on the curve")
    }
}

/// The deterministic transaction sequence.
pub struct Traffic {
    params: TrafficParams,
    source: Source,
}

enum Source {
    Generated(Generated),
    Scripted(Script),
}

/// Copies of fixtures with keys drawn from pools.
struct Generated {
    templates: Vec<Template>,
    wallets: KeyPool,
    mints: KeyPool,
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traffic")
            .field("params", &self.params)
            .field("fixtures", &self.fixture_count())
            .field("scripted", &self.is_scripted())
            .finish()
    }
}

impl Traffic {
    /// Builds the sequence from decoded fixtures (in the order given).
    pub fn new(fixtures: Vec<Transaction>, params: TrafficParams) -> Result<Self, FakeGeyserError> {
        if fixtures.is_empty() {
            return Err(FakeGeyserError::Config("no fixture transactions".into()));
        }
        if params.tx_per_slot == 0 || params.wallets == 0 || params.mints == 0 {
            return Err(FakeGeyserError::Config(
                "tx_per_slot, wallets and mints must be at least 1".into(),
            ));
        }
        if params.fresh_wallets_per_mille > MAX_FRESH_WALLETS_PER_MILLE {
            return Err(FakeGeyserError::Config(format!(
                "fresh wallets per mille must be at most {MAX_FRESH_WALLETS_PER_MILLE} (got {})",
                params.fresh_wallets_per_mille
            )));
        }
        let quotes = [
            WSOL_MINT,
            USDC_MINT.parse().expect("built-in mint"),
            USDT_MINT.parse().expect("built-in mint"),
        ];
        let templates = fixtures
            .into_iter()
            .map(|tx| Template::new(tx, &quotes))
            .collect();
        Ok(Traffic {
            params,
            source: Source::Generated(Generated {
                templates,
                wallets: KeyPool::new(params.wallets, mix(params.seed, 0x5741_4C4C_4554), true),
                mints: KeyPool::new(params.mints, mix(params.seed, 0x4D49_4E54), false),
            }),
        })
    }

    /// Traffic that is exactly `list`, in order (see [`script`](super::script)). `params.seed`
    /// only shapes the block hashes; `params.start_slot` becomes the script's first slot.
    pub fn scripted(list: Vec<ScriptedTx>, params: TrafficParams) -> Result<Self, FakeGeyserError> {
        let script = Script::new(list)?;
        Ok(Traffic {
            params: TrafficParams {
                start_slot: script.first_slot(),
                ..params
            },
            source: Source::Scripted(script),
        })
    }

    /// Traffic that is a recording, sent as recorded (see [`super::recorded`]).
    pub(crate) fn recorded(
        list: Vec<(ScriptedTx, SubscribeUpdateTransaction, std::time::Duration)>,
        params: TrafficParams,
    ) -> Result<Self, FakeGeyserError> {
        let script = Script::recorded(list)?;
        Ok(Traffic {
            params: TrafficParams {
                start_slot: script.first_slot(),
                ..params
            },
            source: Source::Scripted(script),
        })
    }

    /// When transaction `seq` arrived in its recording, after the first (`None`: not a
    /// recording, or past its end).
    pub fn offset_of(&self, seq: u64) -> Option<std::time::Duration> {
        match &self.source {
            Source::Scripted(s) => s.offset(seq),
            Source::Generated(_) => None,
        }
    }

    pub fn is_scripted(&self) -> bool {
        matches!(self.source, Source::Scripted(_))
    }

    /// How many transactions there are: `None` for endless generated traffic.
    pub fn total(&self) -> Option<u64> {
        match &self.source {
            Source::Generated(_) => None,
            Source::Scripted(s) => Some(s.len()),
        }
    }

    /// The slot of the first transaction.
    pub fn start_slot(&self) -> u64 {
        self.params.start_slot
    }

    /// Loads every `*.json` file of `dir` (sorted by file name) with the RPC JSON decoder.
    /// Transactions that do not decode are skipped with a warning.
    pub fn load_fixtures(dir: &Path) -> Result<Vec<Transaction>, FakeGeyserError> {
        let read_dir = std::fs::read_dir(dir).map_err(|e| FakeGeyserError::Fixtures {
            path: dir.display().to_string(),
            error: e.to_string(),
        })?;
        let mut files: Vec<_> = read_dir
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let mut out = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| FakeGeyserError::Fixtures {
                path: file.display().to_string(),
                error: e.to_string(),
            })?;
            for result in transactions_from_json_text(&text) {
                match result {
                    Ok(tx) => out.push(tx),
                    Err(e) => tracing::warn!(file = %file.display(), error = %e, "fixture skipped"),
                }
            }
        }
        if out.is_empty() {
            return Err(FakeGeyserError::Fixtures {
                path: dir.display().to_string(),
                error: "no decodable transaction in any *.json file".into(),
            });
        }
        Ok(out)
    }

    /// Generates every pool key now rather than on first use (the wallets cost a point
    /// decompression each); safe to run on another thread while the traffic is being served.
    pub fn warm_up(&self) {
        let Source::Generated(g) = &self.source else {
            return;
        };
        for i in 0..g.wallets.len() {
            g.wallets.get(i);
        }
        for i in 0..g.mints.len() {
            g.mints.get(i);
        }
    }

    pub fn params(&self) -> &TrafficParams {
        &self.params
    }

    /// Number of fixtures the sequence cycles through (of a script: its length).
    pub fn fixture_count(&self) -> usize {
        match &self.source {
            Source::Generated(g) => g.templates.len(),
            Source::Scripted(s) => s.len() as usize,
        }
    }

    /// The fixture that `seq` is a copy of (of a script: entry `seq`, as streamed).
    pub fn fixture(&self, seq: u64) -> &Transaction {
        match &self.source {
            Source::Generated(g) => &g.template(seq).tx,
            Source::Scripted(s) => s.tx(seq),
        }
    }

    pub fn slot_of(&self, seq: u64) -> u64 {
        match &self.source {
            Source::Generated(_) => self.params.start_slot + seq / self.params.tx_per_slot,
            Source::Scripted(s) => s.slot_of(seq),
        }
    }

    /// Position of `seq` in its slot.
    pub fn index_of(&self, seq: u64) -> u64 {
        match &self.source {
            Source::Generated(_) => seq % self.params.tx_per_slot,
            Source::Scripted(s) => s.index_of(seq),
        }
    }

    /// First sequence number of `slot`, or `None` before `start_slot`. A script's unused slot
    /// gives the first transaction after it.
    pub fn first_seq_of_slot(&self, slot: u64) -> Option<u64> {
        match &self.source {
            Source::Generated(_) => {
                let offset = slot.checked_sub(self.params.start_slot)?;
                offset.checked_mul(self.params.tx_per_slot)
            }
            Source::Scripted(s) => s.first_seq_of_slot(slot),
        }
    }

    /// Sequence number of a transaction of this traffic, from its slot and index.
    pub fn seq_of(&self, slot: u64, index: u64) -> Option<u64> {
        match &self.source {
            Source::Generated(_) => (index < self.params.tx_per_slot)
                .then(|| self.first_seq_of_slot(slot).map(|first| first + index))
                .flatten(),
            Source::Scripted(s) => s.seq_of(slot, index),
        }
    }

    /// True when `seq` is the last transaction of its slot (a block meta follows it).
    pub fn ends_slot(&self, seq: u64) -> bool {
        match &self.source {
            Source::Generated(_) => self.index_of(seq) == self.params.tx_per_slot - 1,
            Source::Scripted(s) => s.ends_slot(seq),
        }
    }

    /// Generated: `1_700_000_000 + (slot - start_slot) × 0.4 s`, rounded. Scripted: the time the
    /// script gives the slot (or the closest used slot before it).
    pub fn block_time(&self, slot: u64) -> i64 {
        if let Source::Scripted(s) = &self.source {
            return s.block_time(slot);
        }
        let offset = slot.saturating_sub(self.params.start_slot) as i128;
        (BASE_BLOCK_TIME as i128 + (offset * 4 + 5) / 10) as i64
    }

    /// A deterministic base58 block hash.
    pub fn blockhash(&self, slot: u64) -> String {
        script::blockhash(self.params.seed, slot)
    }

    /// The block meta sent after the last transaction of `slot`.
    pub fn block_meta(&self, slot: u64) -> SubscribeUpdateBlockMeta {
        if let Source::Scripted(s) = &self.source {
            return s.block_meta(slot, self.params.seed);
        }
        let parent = slot.saturating_sub(1);
        SubscribeUpdateBlockMeta {
            slot,
            blockhash: self.blockhash(slot),
            rewards: None,
            block_time: Some(UnixTimestamp {
                timestamp: self.block_time(slot),
            }),
            block_height: Some(BlockHeight {
                block_height: slot.saturating_sub(self.params.start_slot) + 1,
            }),
            parent_slot: parent,
            parent_blockhash: self.blockhash(parent),
            executed_transaction_count: self.params.tx_per_slot,
            entries_count: 0,
            bank_id: 0,
        }
    }

    /// The fresh 64-byte signature of `seq` (of a script: the scripted one).
    pub fn signature(&self, seq: u64) -> Signature {
        if let Source::Scripted(s) = &self.source {
            return s.tx(seq).signature;
        }
        let base = mix(mix(self.params.seed, 0x5349_474E), seq);
        let mut bytes = [0u8; 64];
        for (w, chunk) in bytes.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&mix(base, w as u64).to_le_bytes());
        }
        Signature(bytes)
    }

    /// Transaction `seq`, as a client decodes it from the Yellowstone update (no block time).
    pub fn transaction(&self, seq: u64) -> Transaction {
        match &self.source {
            Source::Generated(g) => {
                let (template, keys) = self.replacements(g, seq);
                self.build_transaction(seq, template, &keys)
            }
            Source::Scripted(s) => s.transaction(seq),
        }
    }

    /// The Yellowstone update carrying transaction `seq` (equal to `to_update(&transaction(seq))`).
    pub fn update(&self, seq: u64) -> SubscribeUpdateTransaction {
        match &self.source {
            Source::Generated(g) => {
                let (template, keys) = self.replacements(g, seq);
                self.build_update(seq, template, &keys)
            }
            Source::Scripted(s) => s.update(seq),
        }
    }

    /// Both at once (the draws are made once).
    pub fn generate(&self, seq: u64) -> (Transaction, SubscribeUpdateTransaction) {
        match &self.source {
            Source::Generated(g) => {
                let (template, keys) = self.replacements(g, seq);
                (
                    self.build_transaction(seq, template, &keys),
                    self.build_update(seq, template, &keys),
                )
            }
            Source::Scripted(s) => s.generate(seq),
        }
    }

    /// The template of `seq` and the pool keys replacing its `originals`.
    fn replacements<'a>(
        &self,
        g: &'a Generated,
        seq: u64,
    ) -> (&'a Template, Vec<Cow<'a, PoolKey>>) {
        let template = g.template(seq);
        let tx_seed = mix(mix(self.params.seed, 0x5452_4146), seq);
        let fresh = u64::from(self.params.fresh_wallets_per_mille);
        let mut chosen: Vec<Cow<'a, PoolKey>> = Vec::with_capacity(template.originals.len());
        for (i, original) in template.originals.iter().enumerate() {
            let key = if i < template.wallets {
                if fresh > 0
                    && (i as u64) < FRESH_SLOTS
                    && mix(tx_seed, 0x4652_4553_4800 + i as u64) % 1_000 < fresh
                {
                    // Counter `seq × FRESH_SLOTS + i` past the pool: unique per (seq, position),
                    // so never equal to another chosen key nor to any pool key's derivation.
                    let counter = g.wallets.len() as u64
                        + seq.wrapping_mul(FRESH_SLOTS).wrapping_add(i as u64);
                    Cow::Owned(g.wallets.make(counter))
                } else {
                    Cow::Borrowed(self.draw(&g.wallets, tx_seed, original, &chosen, wallet_index))
                }
            } else {
                let skew = self.params.mint_skew.exponent();
                Cow::Borrowed(self.draw(&g.mints, tx_seed, original, &chosen, |h, n| {
                    mint_index(h, n, skew)
                }))
            };
            chosen.push(key);
        }
        (template, chosen)
    }

    fn build_transaction(
        &self,
        seq: u64,
        template: &Template,
        keys: &[Cow<'_, PoolKey>],
    ) -> Transaction {
        let mut tx = template.tx.clone();
        tx.signature = self.signature(seq);
        tx.slot = self.slot_of(seq);
        tx.block_time = None;
        tx.index = Some(self.index_of(seq));
        for &(pos, r) in &template.key_patches {
            tx.account_keys[pos] = keys[r].key;
        }
        for &(post, i, owner, mint) in &template.balance_patches {
            let b = if post {
                &mut tx.post_token_balances[i]
            } else {
                &mut tx.pre_token_balances[i]
            };
            if let Some(r) = owner {
                b.owner = keys[r].key;
            }
            if let Some(r) = mint {
                b.mint = keys[r].key;
            }
        }
        tx
    }

    fn build_update(
        &self,
        seq: u64,
        template: &Template,
        keys: &[Cow<'_, PoolKey>],
    ) -> SubscribeUpdateTransaction {
        let mut update = template.update.clone();
        update.slot = self.slot_of(seq);
        let signature = self.signature(seq).0.to_vec();
        let statics = template.tx.num_static_keys as usize;
        let writable_end = statics + template.tx.num_loaded_writable as usize;
        let info = update.transaction.as_mut().expect("to_update sets it");
        info.index = self.index_of(seq);
        if let Some(message) = info.transaction.as_mut() {
            message.signatures = vec![signature.clone()];
            if let Some(m) = message.message.as_mut() {
                for &(pos, r) in template.key_patches.iter().filter(|p| p.0 < statics) {
                    m.account_keys[pos] = keys[r].key.0.to_vec();
                }
            }
        }
        info.signature = signature;
        if let Some(meta) = info.meta.as_mut() {
            for &(pos, r) in template.key_patches.iter().filter(|p| p.0 >= statics) {
                let bytes = keys[r].key.0.to_vec();
                if pos < writable_end {
                    meta.loaded_writable_addresses[pos - statics] = bytes;
                } else {
                    meta.loaded_readonly_addresses[pos - writable_end] = bytes;
                }
            }
            for &(post, i, owner, mint) in &template.balance_patches {
                let b = if post {
                    &mut meta.post_token_balances[i]
                } else {
                    &mut meta.pre_token_balances[i]
                };
                if let Some(r) = owner {
                    b.owner.clone_from(&keys[r].text);
                }
                if let Some(r) = mint {
                    b.mint.clone_from(&keys[r].text);
                }
            }
        }
        update
    }

    /// Draws a pool key for `original`, distinct from the keys already chosen in this transaction.
    fn draw<'a>(
        &self,
        pool: &'a KeyPool,
        tx_seed: u64,
        original: &Pubkey,
        taken: &[Cow<'_, PoolKey>],
        skew: impl Fn(u64, usize) -> usize,
    ) -> &'a PoolKey {
        let key_seed = mix(tx_seed, key_hash(original));
        let mut candidate = pool.get(skew(mix(key_seed, 0), pool.len()));
        // A few redraws, then a linear probe: a pool smaller than the keys of one transaction
        // would loop forever, so after a full turn a duplicate is accepted.
        for attempt in 1..(8 + pool.len() as u64) {
            if !taken.iter().any(|k| k.key == candidate.key) {
                break;
            }
            let i = if attempt < 8 {
                skew(mix(key_seed, attempt), pool.len())
            } else {
                (skew(mix(key_seed, 0), pool.len()) + attempt as usize - 7) % pool.len()
            };
            candidate = pool.get(i);
        }
        candidate
    }
}

/// Counter positions reserved per `seq` for fresh wallets: more than the wallet keys of any
/// fixture (a transaction has a handful of signers and owners).
const FRESH_SLOTS: u64 = 64;

impl Generated {
    fn template(&self, seq: u64) -> &Template {
        &self.templates[(seq % self.templates.len() as u64) as usize]
    }
}

/// splitmix64's output function: a fast, well-mixed bijection on `u64`.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Combines two values into one well-mixed value (not symmetric).
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    splitmix64(a ^ splitmix64(b.wrapping_add(0x632B_E59B_D9B4_E019)))
}

fn key_hash(key: &Pubkey) -> u64 {
    let head = u64::from_le_bytes(key.0[..8].try_into().expect("8 bytes"));
    let tail = u64::from_le_bytes(key.0[24..].try_into().expect("8 bytes"));
    mix(head, tail)
}

/// A uniform number in [0, 1) from 53 random bits.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Wallets: `n × u²`, a mild skew (the most active wallet is in about 1/√n of the draws).
fn wallet_index(h: u64, n: usize) -> usize {
    let u = unit(h);
    ((n as f64 * u * u) as usize).min(n - 1)
}

/// Mints: the inverse of the continuous Zipf-like law with exponent `s` over `[0, n)` (density
/// ∝ `(x + 1)^-s`): `s = 0` is `n × u`, `s = 1` is log-uniform.
fn mint_index(h: u64, n: usize, s: f64) -> usize {
    let u = unit(h);
    let n1 = n as f64 + 1.0;
    let x = if (s - 1.0).abs() < 1e-9 {
        n1.powf(u) - 1.0
    } else {
        let a = 1.0 - s;
        (1.0 + u * (n1.powf(a) - 1.0)).powf(1.0 / a) - 1.0
    };
    (x as usize).min(n - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::proto::{from_update, to_update};

    fn fixtures() -> Vec<Transaction> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mainnet");
        Traffic::load_fixtures(&dir).expect("fixtures load")
    }

    fn traffic() -> Traffic {
        Traffic::new(
            fixtures(),
            TrafficParams {
                tx_per_slot: 7,
                wallets: 500,
                mints: 50,
                ..TrafficParams::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn same_seq_same_transaction() {
        let a = traffic();
        let b = traffic();
        for seq in [0, 1, 13, 99, 1_000_003] {
            assert_eq!(a.transaction(seq), b.transaction(seq));
            assert_eq!(a.update(seq), b.update(seq));
        }
    }

    #[test]
    fn slots_indexes_and_signatures() {
        let t = traffic();
        assert_eq!(t.slot_of(0), 300_000_000);
        assert_eq!(t.slot_of(6), 300_000_000);
        assert_eq!(t.slot_of(7), 300_000_001);
        assert_eq!(t.index_of(9), 2);
        assert_eq!(t.first_seq_of_slot(300_000_002), Some(14));
        assert_eq!(t.first_seq_of_slot(299_999_999), None);
        assert_eq!(t.seq_of(300_000_002, 3), Some(17));
        assert_eq!(t.seq_of(300_000_002, 7), None);
        assert!(t.ends_slot(6) && !t.ends_slot(7));
        let mut seen = std::collections::HashSet::new();
        for seq in 0..2_000 {
            assert!(seen.insert(t.signature(seq)), "signature of {seq} repeats");
        }
    }

    #[test]
    fn block_times_follow_400ms_slots() {
        let t = traffic();
        assert_eq!(t.block_time(300_000_000), BASE_BLOCK_TIME);
        assert_eq!(t.block_time(300_000_001), BASE_BLOCK_TIME); // 0.4 s rounds down
        assert_eq!(t.block_time(300_000_002), BASE_BLOCK_TIME + 1); // 0.8 s rounds up
        assert_eq!(t.block_time(300_000_010), BASE_BLOCK_TIME + 4);
        let meta = t.block_meta(300_000_003);
        assert_eq!(meta.parent_slot, 300_000_002);
        assert_eq!(meta.executed_transaction_count, 7);
        assert_eq!(meta.parent_blockhash, t.blockhash(300_000_002));
    }

    #[test]
    fn patched_update_equals_a_fresh_conversion() {
        let t = traffic();
        for seq in 0..(t.fixture_count() as u64 * 3) {
            let (tx, update) = t.generate(seq);
            assert_eq!(update, to_update(&tx), "seq {seq}");
            assert_eq!(tx, t.transaction(seq));
            assert_eq!(update, t.update(seq));
        }
    }

    #[test]
    fn every_copy_round_trips_through_protobuf() {
        let t = traffic();
        for seq in 0..(t.fixture_count() as u64 * 2) {
            let tx = t.transaction(seq);
            assert_eq!(from_update(&t.update(seq)).unwrap(), tx, "seq {seq}");
        }
    }

    #[test]
    fn wallets_and_mints_are_replaced_consistently() {
        let t = traffic();
        let quotes = [
            WSOL_MINT,
            USDC_MINT.parse().unwrap(),
            USDT_MINT.parse().unwrap(),
        ];
        for seq in 0..(t.fixture_count() as u64) {
            let original = t.fixture(seq);
            let copy = t.transaction(seq);
            assert_eq!(copy.account_keys.len(), original.account_keys.len());
            // Signers are fresh on-curve wallets.
            for (o, c) in original.signers().iter().zip(copy.signers()) {
                assert!(is_on_curve(c));
                assert_ne!(o, c, "seq {seq}: signer kept");
            }
            // Keys stay distinct within the transaction.
            let mut keys = copy.account_keys.clone();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), copy.account_keys.len(), "seq {seq}");
            // Off-curve owners (pools) and quote mints are untouched; other mints replaced, and
            // the same original always maps to the same replacement within the transaction.
            let pairs = original
                .pre_token_balances
                .iter()
                .chain(&original.post_token_balances)
                .zip(
                    copy.pre_token_balances
                        .iter()
                        .chain(&copy.post_token_balances),
                );
            let mut map: Vec<(Pubkey, Pubkey)> = Vec::new();
            for (o, c) in pairs {
                assert_eq!(o.amount, c.amount);
                if is_on_curve(&o.owner) {
                    assert!(is_on_curve(&c.owner));
                } else {
                    assert_eq!(o.owner, c.owner);
                }
                if quotes.contains(&o.mint) {
                    assert_eq!(o.mint, c.mint);
                } else {
                    assert_ne!(o.mint, c.mint);
                }
                for (from, to) in [(o.owner, c.owner), (o.mint, c.mint)] {
                    match map.iter().find(|(f, _)| *f == from) {
                        Some((_, t)) => assert_eq!(*t, to, "seq {seq}: inconsistent"),
                        None => map.push((from, to)),
                    }
                }
                // The replacement is also what the key list says.
                if let Some(i) = original.account_keys.iter().position(|k| *k == o.owner) {
                    assert_eq!(copy.account_keys[i], c.owner);
                }
            }
        }
    }

    #[test]
    fn copies_of_one_fixture_get_different_wallets() {
        let t = traffic();
        let f = t.fixture_count() as u64;
        let payers: std::collections::HashSet<Pubkey> = (0..40)
            .map(|i| t.transaction(i * f).account_keys[0])
            .collect();
        assert!(payers.len() > 20, "only {} distinct payers", payers.len());
    }

    /// Distinct on-curve wallets (signers and token owners) of `seq` in `0..n`.
    fn distinct_wallets(t: &Traffic, n: u64) -> std::collections::HashSet<Pubkey> {
        let mut seen = std::collections::HashSet::new();
        for seq in 0..n {
            let tx = t.transaction(seq);
            let owners = tx.post_token_balances.iter().map(|b| b.owner);
            for key in tx.account_keys.iter().copied().chain(owners) {
                if is_on_curve(&key) {
                    seen.insert(key);
                }
            }
        }
        seen
    }

    fn with_inflow(per_mille: u16) -> Traffic {
        Traffic::new(
            fixtures(),
            TrafficParams {
                wallets: 50,
                // One mint: the mint pool's keys are random bytes, half of them on the curve,
                // and would otherwise count as wallets here.
                mints: 1,
                fresh_wallets_per_mille: per_mille,
                ..TrafficParams::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn without_inflow_the_wallets_stay_in_the_pool() {
        // By seq 1,000 every fixture (about 50) was copied many times and the 50-wallet pool is
        // used up: later copies add no wallet (the rest are fixtures' fixed on-curve keys).
        let t = with_inflow(0);
        let early = distinct_wallets(&t, 1_000);
        let late = distinct_wallets(&t, 3_000);
        assert_eq!(early.len(), late.len(), "a fixed pool must not grow");
        assert!(early == late, "same wallets");
        assert!(
            distinct_wallets(&with_inflow(0), 3_000) == late,
            "deterministic"
        );
    }

    #[test]
    fn fresh_wallet_inflow_grows_with_seq_and_is_deterministic() {
        let t = with_inflow(100);
        let pool_only = distinct_wallets(&with_inflow(0), 3_000).len();
        let at_1000 = distinct_wallets(&t, 1_000).len();
        let at_2000 = distinct_wallets(&t, 2_000);
        assert!(at_1000 > pool_only, "{at_1000} vs pool {pool_only}");
        assert!(
            at_2000.len() > at_1000 + 50,
            "{at_1000} → {}: inflow must keep adding wallets",
            at_2000.len()
        );
        let again = with_inflow(100);
        for seq in [0, 7, 999, 1_000_003] {
            assert_eq!(t.transaction(seq), again.transaction(seq));
            assert_eq!(t.update(seq), again.update(seq));
            assert_eq!(to_update(&t.transaction(seq)), t.update(seq));
        }
        assert!(distinct_wallets(&again, 2_000) == at_2000, "deterministic");
        for key in &at_2000 {
            assert!(CompressedEdwardsY(key.0).decompress().is_some());
        }
    }

    #[test]
    fn inflow_above_every_wallet_is_refused() {
        let err = Traffic::new(
            fixtures(),
            TrafficParams {
                fresh_wallets_per_mille: 1_001,
                ..TrafficParams::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("per mille"), "{err}");
    }

    #[test]
    fn tiny_pools_do_not_loop() {
        let t = Traffic::new(
            fixtures(),
            TrafficParams {
                wallets: 1,
                mints: 1,
                ..TrafficParams::default()
            },
        )
        .unwrap();
        for seq in 0..(t.fixture_count() as u64) {
            t.transaction(seq);
        }
    }

    #[test]
    fn skews_stay_in_range() {
        for h in [0, 1, u64::MAX, 0x8000_0000_0000_0000, 12345] {
            assert!(wallet_index(h, 10) < 10);
            assert_eq!(wallet_index(h, 1), 0);
            for s in [0.0, 0.5, 1.0, 1.5, MintSkew::MAX] {
                assert!(mint_index(h, 10, s) < 10);
                assert_eq!(mint_index(h, 1, s), 0);
            }
        }
    }

    /// Share of 100,000 draws over 2,000 mints that land on the 20 most traded (the top 1 %).
    fn top_share(s: f64) -> f64 {
        let draws = 100_000u64;
        let hits = (0..draws)
            .filter(|&i| mint_index(mix(7, i), 2_000, s) < 20)
            .count();
        hits as f64 / draws as f64
    }

    #[test]
    fn mint_skew_moves_trades_onto_a_few_mints() {
        let uniform = top_share(0.0);
        let log_uniform = top_share(1.0);
        let steep = top_share(1.5);
        assert!((0.008..0.012).contains(&uniform), "uniform: {uniform}");
        // ln(21) / ln(2001) ≈ 0.40
        assert!(
            (0.38..0.42).contains(&log_uniform),
            "log-uniform: {log_uniform}"
        );
        assert!(steep > 0.75, "s = 1.5: {steep}");
    }

    #[test]
    fn mint_skew_refuses_what_it_cannot_draw() {
        for bad in ["-0.5", "4.5", "NaN", "inf", "hot"] {
            let err = bad.parse::<MintSkew>().unwrap_err();
            assert!(err.contains("mint skew"), "{bad}: {err}");
        }
        assert_eq!("0".parse::<MintSkew>().unwrap(), MintSkew::UNIFORM);
        assert_eq!(" 1 ".parse::<MintSkew>().unwrap(), MintSkew::default());
    }

    #[test]
    fn uniform_skew_changes_the_mints_but_not_the_rest() {
        let uniform = Traffic::new(
            fixtures(),
            TrafficParams {
                mint_skew: MintSkew::UNIFORM,
                ..TrafficParams::default()
            },
        )
        .unwrap();
        let default = Traffic::new(fixtures(), TrafficParams::default()).unwrap();
        let mut differing = 0;
        for seq in 0..200 {
            let (a, b) = (uniform.transaction(seq), default.transaction(seq));
            assert_eq!(a.signature, b.signature);
            assert_eq!(a.slot, b.slot);
            differing += usize::from(a.account_keys != b.account_keys);
        }
        assert!(
            differing > 100,
            "only {differing} of 200 copies changed mints"
        );
    }
}
