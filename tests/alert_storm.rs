//! An alert storm against the freshness bound (`alerts.max_delivery_delay_secs`): 500 alerts
//! flood a real PostgreSQL outbox far faster than the channels' rate limits, and the sender
//! delivers them to real HTTP stand-ins for Discord and Telegram. The stand-ins' logs are the
//! witness of what reached the user:
//! - no alert reaches a channel (as its own message or inside a digest) later than the bound
//!   plus one rate-limit interval after it was decided;
//! - every alert reaches every channel exactly once: as its own message, or counted in exactly
//!   one digest whose stored membership matches what the message says — none lost, none twice.
//!
//! Scaled down to keep the test short: 30 messages per 6 s window on Discord (20 on Telegram)
//! instead of per minute, and a 10 s bound instead of 300 s. The sender's decisions depend only
//! on the alerts' ages, the pace (window / limit) and the bound, so the property is the same at
//! any scale; what does not scale — the database round trips, the HTTP request, the wake-ups —
//! is a fixed cost, which is a *larger* share of a 200 ms interval than of a 2 s one, so the
//! small scale is the harder case. The flood (≈ 40 alerts/s for 12.5 s) is eight times what
//! Discord can take here; sent one by one, the last alert would arrive ≈ 100 s late.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pocketwatcher::alerting::sample::sample_alert;
use pocketwatcher::alerting::{run_sender, Channel, SenderSetup};
use pocketwatcher::config::AlertsConfig;
use pocketwatcher::secret::Secret;
use pocketwatcher::store::postgres::alerts::insert_alert;
use pocketwatcher::store::postgres::{connect, run_migrations};
use tokio::sync::{watch, Notify};

use support::fake_chat::{FakeDiscord, FakeTelegram, Request};
use support::{unique_name, wait_until_async, TestPostgres};

const ALERTS: usize = 500;
/// Between two stored alerts (≈ 40 per second).
const FLOOD_EVERY: Duration = Duration::from_millis(25);
const WINDOW: Duration = Duration::from_secs(6);
const DISCORD_PER_WINDOW: u32 = 30;
const TELEGRAM_PER_WINDOW: u32 = 20;
const BOUND_SECS: u64 = 10;
const TRIGGERS: [&str; 3] = ["whale_buy", "stealth_accumulation", "cabal_buy"];

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The alert number a message names (`$STORM<n>`), one per occurrence, in order.
fn storm_numbers(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("$STORM") {
        rest = &rest[at + "$STORM".len()..];
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(n) = digits.parse() {
            out.push(n);
        }
    }
    out
}

/// What one stand-in received, read as the user would.
#[derive(Debug, Default)]
struct Witness {
    /// Alert number → arrival times of messages that were that alert alone.
    single: BTreeMap<usize, Vec<Instant>>,
    /// Digests in arrival order: (arrival, the total the message states, the alerts it lists).
    digests: Vec<(Instant, usize, Vec<usize>)>,
}

impl Witness {
    /// `text` is a message's user-visible text, `at` its arrival.
    fn add(&mut self, at: Instant, text: &str) {
        if let Some(rest) = text.split("⚡ ").nth(1) {
            let total: usize = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("a digest states how many alerts it covers: {text}"));
            assert!(
                text.contains("alerts in a burst"),
                "a digest says what it is: {text}"
            );
            self.digests.push((at, total, storm_numbers(text)));
        } else {
            let named = storm_numbers(text);
            let first = *named
                .first()
                .unwrap_or_else(|| panic!("a message names its alert: {text}"));
            assert!(
                named.iter().all(|n| *n == first),
                "a single alert's message names one alert: {text}"
            );
            self.single.entry(first).or_default().push(at);
        }
    }

    fn discord(requests: &[Request]) -> Self {
        let mut w = Witness::default();
        for r in requests {
            assert_eq!(r.status, Some(204), "every request is accepted");
            let embed = &r.json()["embeds"][0];
            let mut text = embed["title"].as_str().unwrap_or("").to_string();
            for f in embed["fields"].as_array().into_iter().flatten() {
                text.push('\n');
                text.push_str(f["value"].as_str().unwrap_or(""));
            }
            w.add(r.at, &text);
        }
        w
    }

    fn telegram(requests: &[Request], texts: &[String]) -> Self {
        assert_eq!(requests.len(), texts.len(), "every request is accepted");
        let mut w = Witness::default();
        for (r, text) in requests.iter().zip(texts) {
            assert_eq!(r.status, Some(200));
            // The first line holds the token: `... ($STORM12)`; the rest may name top buyers.
            let shown = if text.starts_with('⚡') {
                text.as_str()
            } else {
                text.lines().next().unwrap_or("")
            };
            w.add(r.at, shown);
        }
        w
    }
}

/// One stored delivery: (status, digest id).
type Stored = HashMap<(i64, String), (String, Option<i64>)>;

fn stored_deliveries(pg: &TestPostgres, db: &str) -> Stored {
    pg.psql(
        db,
        "SELECT alert_id, channel, status, coalesce(digest_id, 0) FROM alert_deliveries",
    )
    .lines()
    .map(|line| {
        let f: Vec<&str> = line.split('|').collect();
        let digest: i64 = f[3].parse().unwrap();
        (
            (f[0].parse().unwrap(), f[1].to_string()),
            (f[2].to_string(), (digest != 0).then_some(digest)),
        )
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_is_delivered_within_the_bound_plus_one_interval_and_exactly_once() {
    let pg = TestPostgres::new();
    let db = unique_name("storm");
    pg.create_database(&db);
    run_migrations(&pg.url(&db)).await.expect("migrations");
    let pool = connect(&pg.url(&db), 4).await.expect("connect");
    let discord = FakeDiscord::start();
    let telegram = FakeTelegram::start();
    let alerts = AlertsConfig {
        discord_webhook_url: Secret::new(discord.url()),
        telegram_bot_token: Secret::new(FakeTelegram::TOKEN),
        telegram_chat_id: FakeTelegram::CHAT_ID.to_string(),
        telegram_api_base: telegram.api_base(),
        discord_per_minute: DISCORD_PER_WINDOW,
        telegram_per_minute: TELEGRAM_PER_WINDOW,
        max_delivery_delay_secs: BOUND_SECS,
        request_timeout_secs: 10,
        claim_secs: 30,
        poll_interval_ms: 100,
        ..AlertsConfig::default()
    };
    let (_leader, leader_rx) = watch::channel(true);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let wake = Arc::new(Notify::new());
    let mut setup = SenderSetup::new(alerts, pool.clone(), leader_rx, wake.clone(), shutdown_rx);
    setup.rate_window = WINDOW;
    let counters = setup.counters.clone();
    let sender = tokio::spawn(async move { run_sender(setup).await.expect("sender runs") });

    // Wall clock and monotonic clock side by side: a stand-in's arrival `Instant` becomes Unix
    // milliseconds comparable with the alerts' `created_at`.
    let (base_instant, base_ms) = (Instant::now(), now_ms());
    let wall_ms = |at: Instant| base_ms + at.duration_since(base_instant).as_millis() as i64;

    // The flood, as the detector would store it: insert, then wake the sender.
    let mut ids = Vec::with_capacity(ALERTS);
    let mut created = HashMap::new();
    let mut pace = tokio::time::interval(FLOOD_EVERY);
    for n in 0..ALERTS {
        pace.tick().await;
        let mut alert = sample_alert(now_ms());
        alert.token_symbol = Some(format!("STORM{n}"));
        alert.trigger_name = TRIGGERS[n % TRIGGERS.len()].to_string();
        let id = insert_alert(
            &pool,
            &alert,
            &format!("storm-{n}"),
            &["discord", "telegram"],
        )
        .await
        .expect("insert")
        .expect("a new alert");
        ids.push(id);
        created.insert(n, alert.created_at_ms);
        wake.notify_one();
    }

    wait_until_async(
        "every delivery to leave 'pending'",
        Duration::from_secs(120),
        || {
            let waiting = pg.psql(
                &db,
                "SELECT count(*) FROM alert_deliveries WHERE status = 'pending'",
            );
            async move { waiting == "0" }
        },
    )
    .await;
    // A few more turns of the sender: nothing else arrives.
    let turns = counters.passes() + 5;
    let c = counters.clone();
    wait_until_async("five more sender passes", Duration::from_secs(30), || {
        let done = c.passes() >= turns;
        async move { done }
    })
    .await;
    shutdown.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), sender)
        .await
        .expect("the sender stops")
        .unwrap();

    let stored = stored_deliveries(&pg, &db);
    let digest_sizes: BTreeMap<i64, (String, usize)> = pg
        .psql(&db, "SELECT id, channel, alert_count FROM alert_digests")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (
                f[0].parse().unwrap(),
                (f[1].to_string(), f[2].parse().unwrap()),
            )
        })
        .collect();
    let bound_ms = BOUND_SECS as i64 * 1000;
    let mut report = Vec::new();
    for (channel, per_window, witness) in [
        (
            Channel::Discord,
            DISCORD_PER_WINDOW,
            Witness::discord(&discord.received()),
        ),
        (
            Channel::Telegram,
            TELEGRAM_PER_WINDOW,
            Witness::telegram(&telegram.received(), &telegram.messages_text()),
        ),
    ] {
        let name = channel.name();
        let interval_ms = (WINDOW / per_window).as_millis() as i64;
        let allowed_ms = bound_ms + interval_ms;

        // None twice as its own message.
        for (n, times) in &witness.single {
            assert_eq!(
                times.len(),
                1,
                "{name}: alert {n} arrived {} times",
                times.len()
            );
        }
        // Digests, matched to their stored rows in the order they were sent.
        let stored_digests: Vec<(i64, usize)> = digest_sizes
            .iter()
            .filter(|(_, (c, _))| c == name)
            .map(|(id, (_, size))| (*id, *size))
            .collect();
        assert_eq!(
            stored_digests.len(),
            witness.digests.len(),
            "{name}: digests stored vs received"
        );
        assert!(
            !witness.digests.is_empty(),
            "{name}: the storm must have been coalesced (the bound was not exercised)"
        );
        assert!(
            !witness.single.is_empty(),
            "{name}: alerts within the bound go as their own messages"
        );
        let mut digest_of: HashMap<usize, usize> = HashMap::new();
        for (n, id) in ids.iter().enumerate() {
            let (status, digest) = stored
                .get(&(*id, name.to_string()))
                .unwrap_or_else(|| panic!("{name}: alert {n} has a delivery row"));
            match status.as_str() {
                "sent" => {
                    assert!(
                        witness.single.contains_key(&n),
                        "{name}: alert {n} is recorded sent but never arrived"
                    );
                }
                "coalesced" => {
                    assert!(
                        !witness.single.contains_key(&n),
                        "{name}: alert {n} arrived alone and in a digest"
                    );
                    let digest = digest.expect("a coalesced row names its digest");
                    let k = stored_digests
                        .iter()
                        .position(|(id, _)| *id == digest)
                        .expect("the digest is stored for this channel");
                    digest_of.insert(n, k);
                }
                other => panic!("{name}: alert {n} ended {other}"),
            }
        }
        // Each digest message states exactly the alerts stored as coalesced into it, and lists
        // only its own members.
        let mut members: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); witness.digests.len()];
        for (n, k) in &digest_of {
            members[*k].insert(*n);
        }
        let mut covered = 0;
        for (k, (_, total, listed)) in witness.digests.iter().enumerate() {
            assert_eq!(
                *total,
                members[k].len(),
                "{name}: digest {k}'s stated count"
            );
            assert_eq!(
                *total, stored_digests[k].1,
                "{name}: digest {k}'s stored count"
            );
            assert!(
                !listed.is_empty(),
                "{name}: digest {k} lists its top alerts"
            );
            for n in listed {
                assert!(
                    members[k].contains(n),
                    "{name}: digest {k} lists alert {n}, which is not among its members"
                );
            }
            covered += total;
        }
        assert_eq!(
            witness.single.len() + covered,
            ALERTS,
            "{name}: every alert arrived once, alone or in a digest"
        );

        // The bound: each alert's arrival, alone or in its digest, after it was decided.
        let mut worst = (0i64, 0usize);
        for n in 0..ALERTS {
            let arrived = match witness.single.get(&n) {
                Some(times) => times[0],
                None => witness.digests[digest_of[&n]].0,
            };
            let delay = wall_ms(arrived) - created[&n];
            if delay > worst.0 {
                worst = (delay, n);
            }
        }
        assert!(
            worst.0 <= allowed_ms,
            "{name}: alert {} arrived {} ms after it was decided; the bound is {bound_ms} ms + \
             one interval of {interval_ms} ms",
            worst.1,
            worst.0
        );
        assert_eq!(counters.sent(channel) as usize, witness.single.len());
        assert_eq!(counters.coalesced(channel) as usize, covered);
        assert_eq!(counters.digests(channel) as usize, witness.digests.len());
        assert_eq!(counters.failed(channel), 0);
        report.push(format!(
            "{name}: {} alone, {covered} in {} digests, worst delay {} ms (allowed {allowed_ms})",
            witness.single.len(),
            witness.digests.len(),
            worst.0
        ));
    }
    assert_eq!(counters.claims_lost(), 0);
    println!("{}", report.join("\n"));
}
