//! Alert delivery against real HTTP stand-ins for Discord and Telegram and a real, throwaway
//! PostgreSQL holding the outbox: retries and their waits, permanent failures, a sender killed
//! mid-send, MarkdownV2 that arrives intact, rate limits, secrets, and `alert-test`.

mod support;

use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use pocketwatcher::alerting::sample::sample_alert;
use pocketwatcher::alerting::{run_sender, Channel, DeliveryCounters, SenderSetup};
use pocketwatcher::config::AlertsConfig;
use pocketwatcher::domain::alert::Alert;
use pocketwatcher::secret::Secret;
use pocketwatcher::store::postgres::alerts::{
    claim_due, deliveries, insert_alert, record_delivery, DeliveryRow, DeliveryUpdate,
};
use pocketwatcher::store::postgres::{connect, run_migrations, PgPool};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use support::fake_chat::{parse_markdown_v2, FakeDiscord, FakeTelegram, Reply};
use support::{free_port, unique_name, wait_until_async, TestPostgres};

const DEADLINE: Duration = Duration::from_secs(60);

/// The process-wide Prometheus recorder (installed once, before any metric is touched).
fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .expect("install the Prometheus recorder")
    })
}

/// The value of `pocketwatcher_alerts_total{channel, status}` (0 when absent).
fn alerts_total(channel: &str, status: &str) -> f64 {
    prometheus()
        .render()
        .lines()
        .find(|l| {
            l.starts_with("pocketwatcher_alerts_total{")
                && l.contains(&format!("channel=\"{channel}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// A fresh migrated database and a pool on it.
async fn outbox(pg: &TestPostgres) -> PgPool {
    let db = unique_name("alerts");
    pg.create_database(&db);
    run_migrations(&pg.url(&db)).await.expect("migrations");
    connect(&pg.url(&db), 4).await.expect("connect")
}

/// Fast retries, short polls; channels as given.
fn alerts_config(discord: Option<String>, telegram: Option<String>) -> AlertsConfig {
    AlertsConfig {
        discord_webhook_url: Secret::new(discord.unwrap_or_default()),
        telegram_bot_token: Secret::new(if telegram.is_some() {
            FakeTelegram::TOKEN
        } else {
            ""
        }),
        telegram_chat_id: if telegram.is_some() {
            FakeTelegram::CHAT_ID.to_string()
        } else {
            String::new()
        },
        telegram_api_base: telegram.unwrap_or_else(|| "https://api.telegram.org".into()),
        retry_initial_ms: 500,
        retry_max_secs: 5,
        max_attempts: 5,
        request_timeout_secs: 10,
        claim_secs: 30,
        poll_interval_ms: 100,
        // The sample alerts are dated 2023: keep the freshness bound (tested in alert_storm)
        // out of these tests.
        max_delivery_delay_secs: 10 * 365 * 86_400,
        ..AlertsConfig::default()
    }
}

struct Sender {
    handle: JoinHandle<()>,
    counters: Arc<DeliveryCounters>,
    leader: watch::Sender<bool>,
    shutdown: watch::Sender<bool>,
    wake: Arc<Notify>,
}

fn start_sender(
    alerts: AlertsConfig,
    pool: &PgPool,
    rate_window: Duration,
    leader: bool,
) -> Sender {
    let (leader_tx, leader_rx) = watch::channel(leader);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let wake = Arc::new(Notify::new());
    let mut setup = SenderSetup::new(alerts, pool.clone(), leader_rx, wake.clone(), shutdown_rx);
    setup.rate_window = rate_window;
    let counters = setup.counters.clone();
    let handle = tokio::spawn(async move {
        run_sender(setup).await.expect("sender runs");
    });
    Sender {
        handle,
        counters,
        leader: leader_tx,
        shutdown: shutdown_tx,
        wake,
    }
}

impl Sender {
    /// Waits until the sender's loop has turned `n` more times (so it had every chance to act).
    async fn turns(&self, n: u64) {
        let target = self.counters.passes() + n;
        let counters = self.counters.clone();
        wait_until_async("sender loop turns", DEADLINE, || {
            let done = counters.passes() >= target;
            async move { done }
        })
        .await;
    }

    async fn stop(self) {
        self.shutdown.send(true).unwrap();
        tokio::time::timeout(DEADLINE, self.handle)
            .await
            .expect("sender stops on shutdown")
            .expect("sender task");
    }
}

async fn delivery(pool: &PgPool, alert_id: i64, channel: &str) -> DeliveryRow {
    deliveries(pool, alert_id)
        .await
        .expect("deliveries")
        .into_iter()
        .find(|d| d.channel == channel)
        .expect("a delivery row for the channel")
}

/// Waits until the delivery is no longer pending and checks it ended as `status`.
async fn wait_for_status(pool: &PgPool, alert_id: i64, channel: &str, status: &str) -> DeliveryRow {
    let what = format!("delivery {alert_id}/{channel} to finish");
    wait_until_async(&what, DEADLINE, || async {
        delivery(pool, alert_id, channel).await.status != "pending"
    })
    .await;
    let row = delivery(pool, alert_id, channel).await;
    assert_eq!(row.status, status, "{row:?}");
    row
}

fn alert(n: u32) -> Alert {
    let mut a = sample_alert(1_700_000_000_000 + i64::from(n));
    a.token_symbol = Some(format!("CABAL{n}"));
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_500_then_429_then_200_delivers_once_after_the_right_waits() {
    let sent_before = {
        prometheus();
        alerts_total("discord", "sent")
    };
    let pg = TestPostgres::new();
    let pool = outbox(&pg).await;
    let discord = FakeDiscord::start();
    discord.script([Reply::status(500), Reply::discord_429(1.5), Reply::ok()]);
    let config = alerts_config(Some(discord.url()), None);
    let backoff = Duration::from_millis(config.retry_initial_ms);

    let id = insert_alert(&pool, &alert(1), "retry-1", &["discord"])
        .await
        .unwrap()
        .expect("new alert");
    let sender = start_sender(config, &pool, Duration::from_secs(60), true);
    sender.wake.notify_one();
    let row = wait_for_status(&pool, id, "discord", "sent").await;
    assert_eq!(row.attempts, 3);
    assert_eq!(row.last_error, None);
    assert!(row.sent_at_ms.is_some());

    // Nothing more arrives after the 200.
    sender.turns(5).await;
    let received = discord.received();
    let statuses: Vec<_> = received.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![Some(500), Some(429), Some(204)]);
    assert_eq!(discord.delivered().len(), 1);
    let first_gap = received[1].at - received[0].at;
    let second_gap = received[2].at - received[1].at;
    assert!(
        first_gap >= backoff,
        "retry after a 500 came after {first_gap:?}"
    );
    assert!(
        second_gap >= Duration::from_millis(1500),
        "retry after a 429 came after {second_gap:?}"
    );
    let embed = &received[2].json()["embeds"][0];
    assert_eq!(embed["title"], "🔴 $CABAL1");

    assert_eq!(sender.counters.sent(Channel::Discord), 1);
    assert_eq!(sender.counters.retried(Channel::Discord), 2);
    assert_eq!(sender.counters.failed(Channel::Discord), 0);
    assert!(alerts_total("discord", "sent") >= sent_before + 1.0);
    sender.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_fails_at_once_with_the_response_and_is_never_retried() {
    let pg = TestPostgres::new();
    let pool = outbox(&pg).await;
    let discord = FakeDiscord::start();
    discord.script([Reply::json(
        400,
        serde_json::json!({"message": "Unknown Webhook", "code": 10015}),
    )]);
    let id = insert_alert(&pool, &alert(2), "fail-1", &["discord"])
        .await
        .unwrap()
        .unwrap();
    let sender = start_sender(
        alerts_config(Some(discord.url()), None),
        &pool,
        Duration::from_secs(60),
        true,
    );
    sender.wake.notify_one();
    let row = wait_for_status(&pool, id, "discord", "failed").await;
    assert_eq!(row.attempts, 1);
    let error = row.last_error.expect("last_error");
    assert!(error.starts_with("HTTP 400"), "{error}");
    assert!(error.contains("Unknown Webhook"), "{error}");

    // Several more polls: no further request.
    sender.turns(10).await;
    assert_eq!(discord.received().len(), 1);
    assert_eq!(sender.counters.failed(Channel::Discord), 1);
    assert_eq!(delivery(&pool, id, "discord").await.status, "failed");
    sender.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_mid_send_leaves_the_alert_to_the_next_sender() {
    let pg = TestPostgres::new();
    let pool = outbox(&pg).await;
    let discord = FakeDiscord::start();
    discord.script([Reply::hang()]);
    let mut config = alerts_config(Some(discord.url()), None);
    config.claim_secs = 2;
    config.request_timeout_secs = 60;
    let id = insert_alert(&pool, &alert(3), "killed-1", &["discord"])
        .await
        .unwrap()
        .unwrap();

    let first = start_sender(config.clone(), &pool, Duration::from_secs(60), true);
    first.wake.notify_one();
    wait_until_async("the first request", DEADLINE, || {
        let n = discord.received().len();
        async move { n == 1 }
    })
    .await;
    first.handle.abort();
    assert!(first.handle.await.unwrap_err().is_cancelled());
    let row = delivery(&pool, id, "discord").await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));

    let second = start_sender(config, &pool, Duration::from_secs(60), true);
    second.wake.notify_one();
    let row = wait_for_status(&pool, id, "discord", "sent").await;
    assert_eq!(row.attempts, 2);
    second.turns(5).await;
    let received = discord.received();
    assert_eq!(received.len(), 2);
    assert_eq!(discord.delivered().len(), 1, "delivered exactly once");
    // The second sender waited for the first one's claim to expire.
    assert!(received[1].at - received[0].at >= Duration::from_millis(1500));
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_markdown_with_reserved_characters_arrives_intact() {
    let pg = TestPostgres::new();
    let pool = outbox(&pg).await;
    let telegram = FakeTelegram::start();
    let mut a = alert(4);
    a.token_name = Some("a_b*c[d](e)~f`g>h#i+j-k=l|m{n}o.p!q\\r".into());
    a.token_symbol = Some("X_Y.Z".into());
    a.trigger_name = "custom_[trigger]".into();
    a.trigger_reason = "Trigger: custom | buy_count_5m=26 (>= 20)".into();
    let id = insert_alert(&pool, &a, "tg-1", &["telegram"])
        .await
        .unwrap()
        .unwrap();
    let sender = start_sender(
        alerts_config(None, Some(telegram.api_base())),
        &pool,
        Duration::from_secs(60),
        true,
    );
    sender.wake.notify_one();
    let row = wait_for_status(&pool, id, "telegram", "sent").await;
    assert_eq!(row.attempts, 1);

    let messages = telegram.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.parse_mode.as_deref(), Some("MarkdownV2"));
    assert_eq!(m.chat_id, FakeTelegram::CHAT_ID);
    let first_line = m.text.lines().next().unwrap();
    assert!(
        first_line.ends_with("RISK - a_b*c[d](e)~f`g>h#i+j-k=l|m{n}o.p!q\\r ($X_Y.Z)"),
        "{first_line}"
    );
    assert!(
        m.text.contains("Trigger: custom | buy_count_5m=26 (>= 20)"),
        "{}",
        m.text
    );
    assert!(m.text.contains(&format!("\n{}\n", a.mint)), "{}", m.text);
    assert!(m.text.contains("ALL BUYS"), "{}", m.text);
    assert!(m
        .links
        .contains(&format!("https://dexscreener.com/solana/{}", a.mint)));
    sender.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_rate_limit_the_third_message_waits_and_none_is_dropped() {
    let pg = TestPostgres::new();
    let pool = outbox(&pg).await;
    let discord = FakeDiscord::start();
    let mut config = alerts_config(Some(discord.url()), None);
    config.discord_per_minute = 2;
    let window = Duration::from_secs(3);
    let mut ids = Vec::new();
    for n in 0..3 {
        let key = format!("rate-{n}");
        ids.push(
            insert_alert(&pool, &alert(10 + n), &key, &["discord"])
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let sender = start_sender(config, &pool, window, true);
    sender.wake.notify_one();
    for id in &ids {
        wait_for_status(&pool, *id, "discord", "sent").await;
    }
    let received = discord.received();
    assert_eq!(received.len(), 3);
    let third_after_first = received[2].at - received[0].at;
    assert!(
        third_after_first >= window - Duration::from_millis(50),
        "the third message went {third_after_first:?} after the first"
    );
    // Oldest first.
    let titles: Vec<String> = received
        .iter()
        .map(|r| r.json()["embeds"][0]["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles, vec!["🔴 $CABAL10", "🔴 $CABAL11", "🔴 $CABAL12"]);
    assert_eq!(sender.counters.sent(Channel::Discord), 3);
    sender.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leading_sender_sends_what_is_due_at_shutdown_then_reports_it() {
    let pg = TestPostgres::new();
    let pool = outbox(&pg).await;
    let discord = FakeDiscord::start();
    // A long poll and no wake: only the shutdown flush can send what is stored meanwhile.
    let alerts = AlertsConfig {
        poll_interval_ms: 600_000,
        ..alerts_config(Some(discord.url()), None)
    };
    let (_leader_tx, leader_rx) = watch::channel(true);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (flushed_tx, mut flushed) = watch::channel(false);
    let setup = SenderSetup::new(
        alerts,
        pool.clone(),
        leader_rx,
        Arc::new(Notify::new()),
        shutdown_rx,
    )
    .with_flush(Duration::from_secs(30), Arc::new(flushed_tx));
    let counters = setup.counters.clone();
    let handle = tokio::spawn(async move { run_sender(setup).await.expect("sender runs") });
    wait_until_async("the first pass", DEADLINE, || {
        let done = counters.passes() >= 1;
        async move { done }
    })
    .await;
    let id = insert_alert(&pool, &alert(7), "flush-1", &["discord"])
        .await
        .unwrap()
        .unwrap();
    assert!(discord.received().is_empty(), "nothing woke the sender");
    shutdown_tx.send(true).unwrap();
    tokio::time::timeout(DEADLINE, flushed.wait_for(|done| *done))
        .await
        .expect("flushed within the deadline")
        .unwrap();
    assert_eq!(delivery(&pool, id, "discord").await.status, "sent");
    assert_eq!(discord.delivered().len(), 1);
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_sends() {
    let pg = TestPostgres::new();
    let pool = outbox(&pg).await;
    let discord = FakeDiscord::start();
    let id = insert_alert(&pool, &alert(5), "leader-1", &["discord"])
        .await
        .unwrap()
        .unwrap();
    let sender = start_sender(
        alerts_config(Some(discord.url()), None),
        &pool,
        Duration::from_secs(60),
        false,
    );
    sender.wake.notify_one();
    sender.turns(5).await;
    assert!(discord.received().is_empty());
    assert_eq!(delivery(&pool, id, "discord").await.attempts, 0);
    sender.leader.send(true).unwrap();
    wait_for_status(&pool, id, "discord", "sent").await;
    assert_eq!(discord.delivered().len(), 1);
    sender.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_error_or_last_error_holds_a_secret() {
    let pg = TestPostgres::new();
    let pool = outbox(&pg).await;
    let telegram = FakeTelegram::start();
    // Telegram's answer quoting the token back; Discord unreachable (connection refused).
    telegram.script([Reply::telegram_error(
        400,
        &format!("Bad Request: chat not found for bot{}", FakeTelegram::TOKEN),
    )]);
    let dead_hook = format!(
        "http://127.0.0.1:{}/api/webhooks/{}/{}",
        free_port(),
        FakeDiscord::WEBHOOK_ID,
        FakeDiscord::TOKEN
    );
    let mut config = alerts_config(Some(dead_hook), Some(telegram.api_base()));
    config.max_attempts = 2;
    config.retry_initial_ms = 100;
    let id = insert_alert(&pool, &alert(6), "secret-1", &["discord", "telegram"])
        .await
        .unwrap()
        .unwrap();
    let sender = start_sender(config, &pool, Duration::from_secs(60), true);
    sender.wake.notify_one();
    let discord_row = wait_for_status(&pool, id, "discord", "failed").await;
    let telegram_row = wait_for_status(&pool, id, "telegram", "failed").await;
    assert_eq!(discord_row.attempts, 2);
    let discord_error = discord_row.last_error.unwrap();
    assert!(discord_error.starts_with("network: "), "{discord_error}");
    let telegram_error = telegram_row.last_error.unwrap();
    assert!(telegram_error.starts_with("HTTP 400"), "{telegram_error}");
    assert!(telegram_error.contains("[redacted]"), "{telegram_error}");
    let secret_half = FakeTelegram::TOKEN.split_once(':').unwrap().1;
    for error in [&discord_error, &telegram_error] {
        assert!(!error.contains(FakeDiscord::TOKEN), "{error}");
        assert!(!error.contains(secret_half), "{error}");
        assert!(!error.contains("/api/webhooks/"), "{error}");
    }
    sender.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_stores_once_claims_exclusively_and_fences_late_updates() {
    let pg = TestPostgres::new();
    let pool = outbox(&pg).await;
    let original = alert(7);
    let id = insert_alert(&pool, &original, "once", &["discord", "telegram"])
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        insert_alert(&pool, &original, "once", &["discord", "telegram"])
            .await
            .unwrap(),
        None,
        "a replayed decision inserts nothing"
    );
    // Zero channels: the row is still the record.
    let quiet = insert_alert(&pool, &alert(8), "quiet", &[])
        .await
        .unwrap()
        .unwrap();
    assert!(deliveries(&pool, quiet).await.unwrap().is_empty());
    assert_eq!(deliveries(&pool, id).await.unwrap().len(), 2);

    // Two concurrent claims of the one due Discord row: exactly one gets it.
    let claim = Duration::from_secs(30);
    let (a, b) = tokio::join!(
        claim_due(&pool, &["discord"], 5, claim),
        claim_due(&pool, &["discord"], 5, claim)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 1, "one claim wins");
    let claimed = a.into_iter().chain(b).next().unwrap();
    assert_eq!(claimed.attempts, 1);
    assert!(claim_due(&pool, &["discord"], 5, claim)
        .await
        .unwrap()
        .is_empty());

    // The alert comes back as stored (metrics come back sorted by name).
    let mut expected = original.clone();
    expected.id = Some(id);
    expected.metrics.sort_by(|x, y| x.0.cmp(&y.0));
    let mut got = claimed.alert.clone();
    got.metrics.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(got, expected);

    // A stale attempt number changes nothing; the right one does.
    let mut stale = claimed.clone();
    stale.attempts = 0;
    assert!(!record_delivery(&pool, &stale, &DeliveryUpdate::Sent)
        .await
        .unwrap());
    assert!(record_delivery(&pool, &claimed, &DeliveryUpdate::Sent)
        .await
        .unwrap());
    assert!(!record_delivery(&pool, &claimed, &DeliveryUpdate::Sent)
        .await
        .unwrap());
    assert_eq!(delivery(&pool, id, "discord").await.status, "sent");
    assert_eq!(delivery(&pool, id, "telegram").await.status, "pending");
}

fn write_config(dir: &std::path::Path, alerts_toml: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{}.toml", unique_name("alert_test")));
    std::fs::write(&path, alerts_toml).unwrap();
    path
}

fn alert_test_command(config: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pocketwatcher"))
        .args(["alert-test", "--config"])
        .arg(config)
        .env_remove("POCKETWATCHER_DISCORD_WEBHOOK_URL")
        .env_remove("POCKETWATCHER_TELEGRAM_BOT_TOKEN")
        .env_remove("POCKETWATCHER_TELEGRAM_CHAT_ID")
        .output()
        .expect("run pocketwatcher alert-test")
}

#[test]
fn alert_test_sends_a_marked_test_alert_to_each_channel_and_reports_failures() {
    let dir = std::env::temp_dir();
    let discord = FakeDiscord::start();
    let telegram = FakeTelegram::start();
    let both = format!(
        "[alerts]\ndiscord_webhook_url = \"{}\"\ntelegram_bot_token = \"{}\"\n\
         telegram_chat_id = \"{}\"\ntelegram_api_base = \"{}\"\n",
        discord.url(),
        FakeTelegram::TOKEN,
        FakeTelegram::CHAT_ID,
        telegram.api_base()
    );
    let path = write_config(&dir, &both);
    let out = alert_test_command(&path);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "discord: sent\ntelegram: sent\n");
    let title = discord.received()[0].json()["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(title.starts_with("🧪 TEST — "), "{title}");
    let text = &telegram.messages_text()[0];
    assert!(text.starts_with("🧪 TEST — "), "{text}");
    assert!(
        text.contains("This is a test alert from pocketwatcher alert-test"),
        "{text}"
    );

    // Failures: each channel reported, exit non-zero, no secret printed.
    discord.script([Reply::json(
        404,
        serde_json::json!({"message": "Unknown Webhook", "code": 10015}),
    )]);
    telegram.script([Reply::telegram_error(
        403,
        "Forbidden: bot was blocked by the user",
    )]);
    let out = alert_test_command(&path);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success());
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("discord: failed: HTTP 404"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("telegram: failed: HTTP 403"),
        "{stdout}"
    );
    let secret_half = FakeTelegram::TOKEN.split_once(':').unwrap().1;
    for output in [&stdout, &stderr] {
        assert!(!output.contains(FakeDiscord::TOKEN), "{output}");
        assert!(!output.contains(secret_half), "{output}");
    }

    // Nothing configured: non-zero.
    let none = write_config(&dir, "");
    let out = alert_test_command(&none);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no alert channel is configured"));
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(none);
}

#[test]
fn markdown_v2_stand_in_renders_escaped_text() {
    let r = parse_markdown_v2(r"*bold* a\_b\*c\[d\]\(e\)~f~ `co\`de` [x](http://a/\)b) \.")
        .expect("valid MarkdownV2");
    assert_eq!(r.text, "bold a_b*c[d](e)f co`de x .");
    assert_eq!(r.links, vec!["http://a/)b".to_string()]);
}

#[test]
fn markdown_v2_stand_in_rejects_what_telegram_rejects() {
    let err = |t: &str| parse_markdown_v2(t).expect_err(t);
    assert!(err("a.b").contains("Character '.' is reserved"));
    assert!(err("a-b").contains("Character '-' is reserved"));
    assert!(err("a_b").contains("Can't find end of Italic"));
    assert!(err("*a").contains("Can't find end of Bold"));
    assert!(err("[a](b").contains("Can't find end of a URL"));
    assert!(err("a]").contains("Character ']' is reserved"));
    assert!(err("`a").contains("Code"));
    // Inside a code span only ` and \ are special.
    assert_eq!(parse_markdown_v2("`a.b_c*`").unwrap().text, "a.b_c*");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_ins_answer_from_their_script_and_record_requests() {
    let discord = FakeDiscord::start();
    discord.script([Reply::status(500), Reply::discord_429(0.5)]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let body = serde_json::json!({"content": "hi"});
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = client.post(discord.url()).json(&body).send().await.unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, vec![500, 429, 204]);
    let received = discord.received();
    assert_eq!(received.len(), 3);
    assert_eq!(received[0].json()["content"], "hi");
    assert_eq!(discord.delivered().len(), 1);
    // An empty message is refused like Discord does.
    let r = client
        .post(discord.url())
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    let telegram = FakeTelegram::start();
    let url = format!(
        "{}/bot{}/sendMessage",
        telegram.api_base(),
        FakeTelegram::TOKEN
    );
    let send = |text: &str| {
        client.post(&url).json(&serde_json::json!({
            "chat_id": FakeTelegram::CHAT_ID, "text": text, "parse_mode": "MarkdownV2"
        }))
    };
    let bad = send("a_b").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let bad: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["error_code"], 400);
    assert!(bad["description"]
        .as_str()
        .unwrap()
        .starts_with("Bad Request: can't parse entities:"));
    let good = send(r"a\_b").send().await.unwrap();
    assert_eq!(good.status().as_u16(), 200);
    assert_eq!(telegram.messages_text(), vec!["a_b".to_string()]);
}

/// The wiring the daemon uses: `children` under actix, woken by the detector's notify; the actor
/// answers heartbeats while it runs and stops at shutdown.
#[test]
fn the_supervised_actor_delivers_and_stops_at_shutdown() {
    use pocketwatcher::actors::messages::Heartbeat;
    use pocketwatcher::alerting::{children, configured_channels};
    use pocketwatcher::config::Config;

    let pg = TestPostgres::new();
    let db = unique_name("actor");
    pg.create_database(&db);
    let url = pg.url(&db);
    pocketwatcher::store::postgres::run_migrations_blocking(&url).expect("migrations");
    let discord = FakeDiscord::start();
    let config = Config {
        alerts: alerts_config(Some(discord.url()), None),
        ..Config::default()
    };
    assert_eq!(configured_channels(&config.alerts), vec!["discord"]);

    actix::System::new().block_on(async move {
        let pool = connect(&url, 2).await.expect("connect");
        let (_leader_tx, leader) = watch::channel(true);
        let (shutdown_tx, shutdown) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let (flushed_tx, mut flushed) = watch::channel(false);
        let specs = children(
            &config,
            pool.clone(),
            leader,
            wake.clone(),
            shutdown,
            Arc::new(flushed_tx),
            None,
        );
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].name, "alert_sender");
        let actor = (specs[0].start)();
        actor.send(Heartbeat).await.expect("heartbeat answered");

        let channels = configured_channels(&config.alerts);
        let id = insert_alert(&pool, &alert(20), "actor-1", &channels)
            .await
            .unwrap()
            .unwrap();
        wake.notify_one();
        wait_for_status(&pool, id, "discord", "sent").await;
        assert_eq!(discord.delivered().len(), 1);

        shutdown_tx.send(true).unwrap();
        tokio::time::timeout(DEADLINE, flushed.wait_for(|done| *done))
            .await
            .expect("the sender reports its shutdown flush")
            .unwrap();
        wait_until_async("the actor to stop", DEADLINE, || {
            let actor = actor.clone();
            async move { actor.send(Heartbeat).await.is_err() }
        })
        .await;
    });

    // No channel configured: no sender at all (alerts are only recorded).
    let quiet = Config::default();
    assert!(configured_channels(&quiet.alerts).is_empty());
}
