//! Alerts carry their trigger's track record: once at least five alerts of the trigger in the 30
//! days before are scored at 1 h, the Discord embed and the Telegram message say how many of them
//! doubled within the hour ("2× within 1 h: 2 of 6"); below five, nothing is shown. Real HTTP
//! stand-ins for Discord and Telegram, a real PostgreSQL outbox with scored history.

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pocketwatcher::alerting::sample::sample_alert;
use pocketwatcher::alerting::{run_sender, SenderSetup};
use pocketwatcher::config::AlertsConfig;
use pocketwatcher::secret::Secret;
use pocketwatcher::store::postgres::alerts::{deliveries, insert_alert};
use pocketwatcher::store::postgres::{connect, run_migrations, PgPool};
use tokio::sync::{watch, Notify};

use support::fake_chat::{parse_markdown_v2, FakeDiscord, FakeTelegram};
use support::{unique_name, wait_until_async, TestPostgres};

const DEADLINE: Duration = Duration::from_secs(60);
const LINE: &str = "2× within 1 h: 2 of 6";

/// Scored history: `whale_concentration` has six alerts scored at 1 h within 30 days (two
/// doubled, one exactly 2×), one not yet scored, one doubled 31 days ago (outside); `stealth` has
/// four scored (all doubled: too few to show).
fn history(pg: &TestPostgres, db: &str, now: i64) {
    let rows: Vec<(&str, i64, &str)> = vec![
        ("whale_concentration", now - 86_400, "1.0"),
        ("whale_concentration", now - 2 * 86_400, "3.5"),
        ("whale_concentration", now - 3 * 86_400, "0.99"),
        ("whale_concentration", now - 4 * 86_400, "0"),
        ("whale_concentration", now - 5 * 86_400, "0.2"),
        ("whale_concentration", now - 29 * 86_400, "0.5"),
        ("whale_concentration", now - 600, "NULL"),
        ("whale_concentration", now - 31 * 86_400, "9"),
        ("stealth", now - 86_400, "2"),
        ("stealth", now - 2 * 86_400, "2"),
        ("stealth", now - 3 * 86_400, "2"),
        ("stealth", now - 4 * 86_400, "2"),
    ];
    for (i, (trigger, t, runup)) in rows.into_iter().enumerate() {
        pg.psql(
            db,
            &format!(
                "WITH a AS (INSERT INTO alerts (mint, trigger_name, trigger_reason, dedup_key, chain_time) \
                 VALUES ('Old{i}', '{trigger}', 'r', 'old{i}', {t}) RETURNING id) \
                 INSERT INTO alert_outcomes (alert_id, mint, trigger_name, alert_time, max_runup_1h, horizons_done) \
                 SELECT id, 'Old{i}', '{trigger}', {t}, {runup}, 4 FROM a"
            ),
        );
    }
}

async fn wait_sent(pool: &PgPool, id: i64) {
    wait_until_async("deliveries sent", DEADLINE, || async {
        let rows = deliveries(pool, id).await.unwrap();
        !rows.is_empty() && rows.iter().all(|d| d.status == "sent")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_shows_the_triggers_hit_rate_once_five_alerts_are_scored() {
    let pg = TestPostgres::new();
    let db = unique_name("track");
    pg.create_database(&db);
    run_migrations(&pg.url(&db)).await.unwrap();
    let pool = connect(&pg.url(&db), 4).await.unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    history(&pg, &db, now);

    let discord = FakeDiscord::start();
    let telegram = FakeTelegram::start();
    let alerts = AlertsConfig {
        discord_webhook_url: Secret::new(discord.url()),
        telegram_bot_token: Secret::new(FakeTelegram::TOKEN),
        telegram_chat_id: FakeTelegram::CHAT_ID.to_string(),
        telegram_api_base: telegram.api_base(),
        poll_interval_ms: 100,
        ..AlertsConfig::default()
    };
    let mut whale = sample_alert(now * 1000);
    whale.trigger_name = "whale_concentration".into();
    whale.token_symbol = Some("WHALE".into());
    let mut stealth = sample_alert(now * 1000);
    stealth.trigger_name = "stealth".into();
    stealth.token_symbol = Some("QUIET".into());
    let channels = ["discord", "telegram"];
    let whale_id = insert_alert(&pool, &whale, "new-whale", &channels)
        .await
        .unwrap()
        .unwrap();
    let stealth_id = insert_alert(&pool, &stealth, "new-stealth", &channels)
        .await
        .unwrap()
        .unwrap();

    let (_leader_tx, leader_rx) = watch::channel(true);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let wake = Arc::new(Notify::new());
    let setup = SenderSetup::new(alerts, pool.clone(), leader_rx, wake.clone(), shutdown_rx);
    let handle = tokio::spawn(async move { run_sender(setup).await.expect("sender runs") });
    wake.notify_one();
    wait_sent(&pool, whale_id).await;
    wait_sent(&pool, stealth_id).await;

    let embeds: Vec<serde_json::Value> = discord
        .delivered()
        .iter()
        .map(|r| r.json()["embeds"][0].clone())
        .collect();
    assert_eq!(embeds.len(), 2);
    let record = |symbol: &str| -> Option<String> {
        let embed = embeds
            .iter()
            .find(|e| e["title"].as_str().unwrap_or("").ends_with(symbol))
            .unwrap_or_else(|| panic!("embed of {symbol}: {embeds:?}"));
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"].as_str().unwrap_or("").contains("Track Record"))
            .map(|f| f["value"].as_str().unwrap().to_string())
    };
    assert_eq!(record("$WHALE").as_deref(), Some(LINE));
    assert_eq!(record("$QUIET"), None, "four scored alerts are too few");

    let texts: Vec<String> = telegram
        .messages()
        .iter()
        .map(|m| parse_markdown_v2(&m.raw).expect("valid MarkdownV2").text)
        .collect();
    assert_eq!(texts.len(), 2);
    let whale_text = texts.iter().find(|t| t.contains("$WHALE")).unwrap();
    assert!(
        whale_text.contains(&format!("Track record, 30 d: {LINE}")),
        "{whale_text}"
    );
    let quiet_text = texts.iter().find(|t| t.contains("$QUIET")).unwrap();
    assert!(!quiet_text.contains("Track record"), "{quiet_text}");

    shutdown_tx.send(true).unwrap();
    tokio::time::timeout(DEADLINE, handle)
        .await
        .unwrap()
        .unwrap();
}
