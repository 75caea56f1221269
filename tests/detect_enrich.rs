//! Alert enrichment against real PostgreSQL, Redis and an HTTP JSON-RPC stand-in: price from the
//! latest SOL-quoted swap, supply from `getTokenSupply` (cached, budgeted), market cap.

mod support;

use pocketwatcher::config::EnrichConfig;
use pocketwatcher::detect::enrich::Enricher;
use pocketwatcher::detect::rpc::RpcClient;
use pocketwatcher::domain::Side;
use pocketwatcher::secret::Secret;
use pocketwatcher::store::postgres::{connect, insert_swaps, SwapRow};
use support::fake_rpc::FakeRpc;
use support::{TestPostgres, TestRedis};

const WSOL: &str = "So11111111111111111111111111111111111111112";
const MINT: &str = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU";
const OTHER: &str = "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm";

fn row(sig: &str, block_time: i64, tokens_raw: u64, lamports: u64, venue: &str) -> SwapRow {
    SwapRow {
        signature: sig.into(),
        leg: 0,
        slot: block_time,
        block_time,
        venue: venue.into(),
        user_wallet: "W1".into(),
        fee_payer: "W1".into(),
        side: Side::Buy,
        base_mint: MINT.into(),
        base_amount: tokens_raw,
        base_decimals: 6,
        quote_mint: WSOL.into(),
        quote_amount: lamports,
        quote_decimals: 9,
        sol_value_lamports: Some(lamports),
    }
}

fn config(rpc: &FakeRpc, budget: u64) -> EnrichConfig {
    EnrichConfig {
        rpc_url: Secret::new(rpc.url()),
        rpc_daily_budget: budget,
        rpc_requests_per_sec: 50,
        token_metadata: true,
        ..EnrichConfig::default()
    }
}

fn redis_pool(redis: &TestRedis) -> deadpool_redis::Pool {
    deadpool_redis::Config::from_url(redis.url())
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_cap_is_latest_sol_price_times_looked_up_supply_and_the_supply_is_cached() {
    let pg = TestPostgres::new();
    pg.create_database("enrich");
    let url = pg.url("enrich");
    pocketwatcher::store::postgres::run_migrations_blocking(&url).unwrap();
    let pool = connect(&url, 2).await.unwrap();
    // An older trade at 0.001 SOL/token, the latest at 0.002 SOL/token (1 token = 1e6 raw).
    insert_swaps(
        &pool,
        &[
            row("s1", 1_700_000_000, 1_000_000, 1_000_000, "pumpfun"),
            row("s2", 1_700_000_100, 3_000_000, 6_000_000, "pumpfun"),
            row("s3", 1_700_000_050, 1_000_000, 1_000_000, "raydium_cpmm"),
        ],
    )
    .await
    .unwrap();
    let redis = TestRedis::start();
    let rpc = FakeRpc::start();
    rpc.set_supply(MINT, "1000000000000000", 6); // 1e9 tokens
    rpc.set_asset(MINT, "Cabal *Coin*", "CBL");
    let enricher = Enricher::new(pool.clone(), redis_pool(&redis), &config(&rpc, 100));

    let market = enricher.market(MINT).await;
    assert!(
        (market.price_sol.unwrap() - 0.002).abs() < 1e-12,
        "{market:?}"
    );
    assert_eq!(market.supply.as_ref().unwrap().raw, "1000000000000000");
    assert!((market.mcap_sol.unwrap() - 2_000_000.0).abs() < 1e-6);
    assert_eq!(market.name.as_deref(), Some("Cabal *Coin*"));
    assert_eq!(market.symbol.as_deref(), Some("CBL"));
    assert_eq!(
        enricher.venue(MINT, 1_700_000_000).await.as_deref(),
        Some("pumpfun"),
        "the venue with most trades in the window"
    );

    // The supply and metadata are cached in token_profiles: no second request.
    let asked = rpc.requests().len();
    let again = enricher.market(MINT).await;
    assert_eq!(again.mcap_sol, market.mcap_sol);
    assert_eq!(again.name.as_deref(), Some("Cabal *Coin*"));
    assert_eq!(rpc.requests().len(), asked);
    let cached = pg.psql(
        "enrich",
        &format!("SELECT token_supply::text || '/' || decimals FROM token_profiles WHERE mint = '{MINT}'"),
    );
    assert_eq!(cached.trim(), "1000000000000000/6");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_supply_the_market_cap_is_unknown_and_the_daily_budget_holds() {
    let pg = TestPostgres::new();
    pg.create_database("enrich");
    let url = pg.url("enrich");
    pocketwatcher::store::postgres::run_migrations_blocking(&url).unwrap();
    let pool = connect(&url, 2).await.unwrap();
    insert_swaps(
        &pool,
        &[row("s1", 1_700_000_000, 1_000_000, 2_000_000, "pumpfun")],
    )
    .await
    .unwrap();
    let redis = TestRedis::start();
    let rpc = FakeRpc::start();
    // The provider does not know the mint: price known, supply and market cap unknown.
    let enricher = Enricher::new(pool.clone(), redis_pool(&redis), &config(&rpc, 2));
    let market = enricher.market(MINT).await;
    assert!(market.price_sol.is_some());
    assert_eq!((market.supply, market.mcap_sol), (None, None));

    // Budget of 2 per day, shared through Redis: a fresh client (another process, a restart)
    // makes one more request, then none.
    let client = RpcClient::new(&config(&rpc, 2));
    let pool = redis_pool(&redis);
    rpc.set_supply(OTHER, "5", 0);
    assert!(client.token_supply(&pool, OTHER).await.is_ok());
    let before = rpc.requests().len();
    let err = client.token_supply(&pool, OTHER).await.unwrap_err();
    assert!(err.to_string().contains("budget"), "{err}");
    assert_eq!(rpc.requests().len(), before, "no request past the budget");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_errors_never_show_the_provider_key() {
    let redis = TestRedis::start();
    let rpc = FakeRpc::start();
    rpc.fail_with(Some(503));
    let client = RpcClient::new(&config(&rpc, 100));
    let err = client
        .token_supply(&redis_pool(&redis), MINT)
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains(FakeRpc::API_KEY), "{err}");
    // Unreachable provider: reqwest's error would name the URL; ours must not.
    let closed = EnrichConfig {
        rpc_url: Secret::new(format!(
            "http://127.0.0.1:{}/?api-key={}",
            support::free_port(),
            FakeRpc::API_KEY
        )),
        ..config(&rpc, 100)
    };
    let err = RpcClient::new(&closed)
        .token_supply(&redis_pool(&redis), MINT)
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains(FakeRpc::API_KEY), "{err}");
}
