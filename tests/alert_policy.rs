//! The claim script in a real Redis applies exactly the pure rule the backtest applies
//! (`domain::alert_policy`): over a grid of prior states (no alert yet, wall-clock cooldown
//! running or expired, chain clock before, at and after the chain-time cooldown) the script's
//! outcome and the state it leaves equal [`AlertPolicy::claim`]'s.

mod support;

use pocketwatcher::domain::alert_policy::{AlertPolicy, Claim, Cooldown};
use pocketwatcher::store::redis::alert_claim::{self, AlertClaim, ClaimOutcome};
use pocketwatcher::store::redis::keys;
use pocketwatcher::store::redis::lease::Lease;
use support::TestRedis;

const COOLDOWN: u64 = 30;

/// Sets the (mint, trigger) keys to `state` as the detector would have left them at `wall_ms`.
async fn arrange(
    conn: &mut redis::aio::MultiplexedConnection,
    mint: &str,
    state: &Cooldown,
    wall_ms: i64,
) {
    let cd = keys::cooldown(mint, "t");
    let last = keys::last_alert(mint, "t");
    let _: () = redis::cmd("DEL")
        .arg(&cd)
        .arg(&last)
        .query_async(conn)
        .await
        .unwrap();
    if let Some(until) = state.wall_until_ms.filter(|u| *u > wall_ms) {
        let _: () = redis::cmd("SET")
            .arg(&cd)
            .arg("earlier")
            .arg("PX")
            .arg(until - wall_ms)
            .query_async(conn)
            .await
            .unwrap();
    }
    if let Some(t) = state.last_alert_chain {
        let _: () = redis::cmd("SET")
            .arg(&last)
            .arg(t)
            .query_async(conn)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claim_script_applies_the_pure_cooldown_rule() {
    let redis = TestRedis::start();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut lease = Lease::new("policy-test", 60_000);
    assert!(lease.renew(&mut conn).await.unwrap());
    let token = lease.token().unwrap().to_string();
    let script = alert_claim::script();
    let policy = AlertPolicy {
        cooldown_secs: COOLDOWN,
        hot_ttl_secs: 600,
    };

    let chain_last = 10_000i64;
    let states = [
        ("never alerted", None, None),
        ("wall cooldown running", Some(20_000), Some(chain_last)),
        ("wall cooldown over", None, Some(chain_last)),
        ("only a market-cap recheck", Some(5_000), None),
    ];
    let chain_nows = [
        chain_last - 1,
        chain_last,
        chain_last + COOLDOWN as i64 - 1,
        chain_last + COOLDOWN as i64,
        chain_last + 10 * COOLDOWN as i64,
    ];
    let mut case = 0;
    for (label, wall_left_ms, last) in states {
        for chain_now in chain_nows {
            case += 1;
            let mint = format!("MINT{case}");
            let wall_ms = support_now_ms();
            let state = Cooldown {
                wall_until_ms: wall_left_ms.map(|left| wall_ms + left),
                last_alert_chain: last,
            };
            arrange(&mut conn, &mint, &state, wall_ms).await;
            let want = policy.claim(&state, wall_ms, chain_now);
            let got = alert_claim::claim(
                &mut conn,
                &script,
                &AlertClaim {
                    lease_token: &token,
                    mint: &mint,
                    trigger: "t",
                    dedup_key: &format!("k{case}"),
                    cooldown_secs: policy.cooldown_secs() as u64,
                    hot_until_ms: policy.hot_until_ms(wall_ms) as u64,
                    chain_now,
                    payload: b"x",
                },
            )
            .await
            .unwrap();
            let context = format!("{label}, chain now {chain_now}");
            match want {
                Claim::Refused => assert_eq!(got, ClaimOutcome::Cooldown, "{context}"),
                Claim::Granted {
                    cooldown,
                    hot_until_ms,
                } => {
                    assert_eq!(got, ClaimOutcome::Claimed, "{context}");
                    let last: i64 = redis::cmd("GET")
                        .arg(keys::last_alert(&mint, "t"))
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                    assert_eq!(Some(last), cooldown.last_alert_chain, "{context}");
                    let pttl: i64 = redis::cmd("PTTL")
                        .arg(keys::cooldown(&mint, "t"))
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                    let want_ms = cooldown.wall_until_ms.unwrap() - wall_ms;
                    assert!(
                        pttl <= want_ms && pttl > want_ms - 5_000,
                        "{context}: wall cooldown {pttl} ms left, policy {want_ms}"
                    );
                    let hot: f64 = redis::cmd("ZSCORE")
                        .arg(keys::HOT_MINTS)
                        .arg(&mint)
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                    assert_eq!(hot as i64, hot_until_ms, "{context}");
                }
            }
        }
    }
}

fn support_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
