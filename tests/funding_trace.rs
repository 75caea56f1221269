//! The funding trace against real PostgreSQL, Redis and a JSON-RPC stand-in serving signature
//! lists and real-structure transfers: hops through fresh funders ending at a labelled exchange,
//! paging past 1,000 signatures, the cache (a second trace makes no request), 429 / 5xx answers,
//! a malformed answer, the daily budget, the latency budget, and clusters of a funded ring.

mod support;

use std::time::Duration;

use pocketwatcher::config::EnrichConfig;
use pocketwatcher::detect::enrich::Enricher;
use pocketwatcher::detect::funding::FundingTracer;
use pocketwatcher::domain::Pubkey;
use pocketwatcher::domain::Side;
use pocketwatcher::secret::Secret;
use pocketwatcher::store::postgres::{connect, insert_swaps, PgPool, SwapRow};
use support::fake_chain_rpc::FakeChainRpc;
use support::{TestPostgres, TestRedis};

const BINANCE_2: &str = "5tzFkiKscXHK5ZXCGbXZxdw7gTjjD1mBwuoFbhUvuAi9";
const SIGS: &str = "getSignaturesForAddress";
const TX: &str = "getTransaction";

fn key(n: u8) -> Pubkey {
    let mut b = [n; 32];
    b[0] = 200;
    Pubkey(b)
}

fn exchange() -> Pubkey {
    BINANCE_2.parse().unwrap()
}

fn config(rpc: &FakeChainRpc, budget: u64) -> EnrichConfig {
    EnrichConfig {
        rpc_url: Secret::new(rpc.url()),
        rpc_daily_budget: budget,
        rpc_requests_per_sec: 1000,
        ..EnrichConfig::default()
    }
}

fn redis_pool(redis: &TestRedis) -> deadpool_redis::Pool {
    deadpool_redis::Config::from_url(redis.url())
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap()
}

async fn database(pg: &TestPostgres) -> (PgPool, String) {
    let name = support::unique_name("funding");
    pg.create_database(&name);
    let url = pg.url(&name);
    pocketwatcher::store::postgres::run_migrations_blocking(&url).unwrap();
    (connect(&url, 4).await.unwrap(), name)
}

fn strings(keys: &[Pubkey]) -> Vec<String> {
    keys.iter().map(Pubkey::to_base58).collect()
}

fn budget_used(redis: &TestRedis) -> u64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let day = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 86_400;
    redis::cmd("GET")
        .arg(pocketwatcher::store::redis::keys::rpc_budget(day))
        .query::<Option<u64>>(&mut conn)
        .unwrap()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hops_through_a_fresh_funder_to_a_labelled_exchange_pages_back_and_caches() {
    let pg = TestPostgres::new();
    let (pool, db) = database(&pg).await;
    let redis = TestRedis::start();
    let rpc = FakeChainRpc::start();
    let (buyer, fresh, busy) = (key(1), key(2), key(3));
    // The exchange funds a fresh wallet, which funds the buyer; the buyer then trades.
    rpc.fund(&exchange(), &fresh, 1_700_000_000);
    let funding = rpc.fund(&fresh, &buyer, 1_700_000_100);
    rpc.add_activity(&buyer, 10);
    // A busy buyer: 1,500 signatures after its funding by the exchange (two pages).
    rpc.fund(&exchange(), &busy, 1_690_000_000);
    rpc.add_activity(&busy, 1_499);

    let tracer = FundingTracer::new(pool.clone(), redis_pool(&redis), &config(&rpc, 1000));
    let out = tracer.trace(&strings(&[buyer, busy])).await;
    assert_eq!(out.missing, None);
    assert_eq!(out.chains[0].funders, vec![fresh.to_base58()]);
    assert_eq!(out.chains[0].source.as_deref(), Some("Binance 2"));
    assert!(out.chains[0].complete);
    assert!(
        out.chains[1].funders.is_empty(),
        "the exchange links nobody"
    );
    assert_eq!(out.chains[1].source.as_deref(), Some("Binance 2"));

    // Hop 0: one batch of 2 first pages, one second page for the busy buyer, one batch of 2
    // oldest transactions; hop 1: the fresh funder's page and transaction. 5 HTTP requests.
    assert_eq!(rpc.calls_of(SIGS), 4, "{:#?}", rpc.calls());
    assert_eq!(rpc.calls_of(TX), 3);
    assert_eq!(rpc.http_requests(), 5);
    assert_eq!(
        budget_used(&redis),
        7,
        "every call of a batch counts against the budget"
    );
    let second_page = rpc
        .calls()
        .into_iter()
        .find(|(m, w, o)| m == SIGS && *w == busy.to_base58() && o.get("before").is_some())
        .expect("a second page for the busy buyer");
    assert!(second_page.2["before"].is_string());
    let first_page = rpc
        .calls()
        .into_iter()
        .find(|(m, w, o)| m == SIGS && *w == busy.to_base58() && o.get("before").is_none())
        .unwrap();
    assert_eq!(first_page.2["limit"], 1000);

    // Cached in wallet_profiles: funder, time, hop, amount, source.
    let row = pg.psql(
        &db,
        &format!(
            "SELECT funded_by, extract(epoch FROM funded_at)::bigint, funding_hop, \
             funding_amount_sol, funding_signature, funding_status FROM wallet_profiles \
             WHERE address = '{}'",
            buyer.to_base58()
        ),
    );
    assert_eq!(
        row.trim(),
        format!("{}|1700000100|0|0.1|{funding}|funded", fresh.to_base58())
    );
    let row = pg.psql(
        &db,
        &format!(
            "SELECT funded_by, funding_hop, funding_source, signature_count FROM wallet_profiles \
             WHERE address = '{}'",
            fresh.to_base58()
        ),
    );
    assert_eq!(row.trim(), format!("{BINANCE_2}|1|Binance 2|2"));

    // A second alert on the same wallets (a new tracer: the cache is PostgreSQL): no request.
    let before = rpc.http_requests();
    let again = FundingTracer::new(pool.clone(), redis_pool(&redis), &config(&rpc, 1000))
        .trace(&strings(&[busy, buyer]))
        .await;
    assert_eq!(rpc.http_requests(), before);
    assert_eq!(again.chains[1].funders, vec![fresh.to_base58()]);
    assert_eq!(again.missing, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_retried_and_counted_server_errors_leave_wallets_unknown_not_cached() {
    let pg = TestPostgres::new();
    let (pool, db) = database(&pg).await;
    let redis = TestRedis::start();
    let rpc = FakeChainRpc::start();
    let (a, b, funder) = (key(11), key(12), key(13));
    rpc.fund(&exchange(), &a, 1_700_000_000);
    rpc.fund(&funder, &b, 1_700_000_000);
    for _ in 0..300 {
        // funder is busy: not fresh, so it is a funder but not followed.
        rpc.add_activity(&funder, 1);
    }

    // Two 429s, then answers: the trace completes; each attempt counted against the budget.
    rpc.fail_next(429, 2);
    let tracer = FundingTracer::new(pool.clone(), redis_pool(&redis), &config(&rpc, 1000));
    let out = tracer.trace(&strings(&[a])).await;
    assert_eq!(out.missing, None);
    assert_eq!(out.chains[0].source.as_deref(), Some("Binance 2"));
    assert_eq!(
        rpc.http_requests(),
        4,
        "3 attempts at the page, 1 transaction"
    );
    assert_eq!(budget_used(&redis), 4);

    // A provider answering 503 for longer than the retries: unknown, not cached, not guessed.
    rpc.fail_next(503, 3);
    let out = tracer.trace(&strings(&[b])).await;
    assert_eq!(out.missing.as_deref(), Some("provider errors"));
    assert!(out.chains[0].funders.is_empty() && !out.chains[0].complete);
    let rows = pg.psql(
        &db,
        &format!(
            "SELECT count(*) FROM wallet_profiles WHERE address = '{}'",
            b.to_base58()
        ),
    );
    assert_eq!(rows.trim(), "0");
    // Recovered: traced now; its busy funder is recorded as established, not followed.
    let out = tracer.trace(&strings(&[b])).await;
    assert_eq!(out.missing, None);
    assert_eq!(out.chains[0].funders, vec![funder.to_base58()]);
    let status = pg.psql(
        &db,
        &format!(
            "SELECT funding_status, signature_count FROM wallet_profiles WHERE address = '{}'",
            funder.to_base58()
        ),
    );
    assert_eq!(status.trim(), "established|301");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_answer_is_an_error_and_the_budget_is_never_exceeded() {
    let pg = TestPostgres::new();
    let (pool, _) = database(&pg).await;
    let redis = TestRedis::start();
    let rpc = FakeChainRpc::start();
    let (odd, fine) = (key(21), key(22));
    rpc.fund(&exchange(), &odd, 1_700_000_000);
    rpc.fund(&exchange(), &fine, 1_700_000_000);
    rpc.malformed_for(&odd);
    let tracer = FundingTracer::new(pool.clone(), redis_pool(&redis), &config(&rpc, 1000));
    let out = tracer.trace(&strings(&[odd, fine])).await;
    assert_eq!(out.missing.as_deref(), Some("malformed provider answer"));
    assert!(!out.chains[0].complete);
    assert_eq!(out.chains[1].source.as_deref(), Some("Binance 2"));

    // A budget of 1 call a day: the page is fetched, the transaction is refused, nothing guessed.
    let redis2 = TestRedis::start();
    let other = key(23);
    rpc.fund(&exchange(), &other, 1_700_000_000);
    let before = rpc.http_requests();
    let tight = FundingTracer::new(pool.clone(), redis_pool(&redis2), &config(&rpc, 1));
    let out = tight.trace(&strings(&[other])).await;
    assert_eq!(out.missing.as_deref(), Some("RPC budget spent"));
    assert!(out.chains[0].funders.is_empty() && out.chains[0].source.is_none());
    assert_eq!(rpc.http_requests(), before + 1);
    assert_eq!(budget_used(&redis2), 1);

    // No RPC configured: said so, no request.
    let none = FundingTracer::new(pool, redis_pool(&redis2), &EnrichConfig::default());
    let before = rpc.http_requests();
    let out = none.trace(&strings(&[key(24)])).await;
    assert_eq!(out.missing.as_deref(), Some("no RPC configured"));
    assert_eq!(rpc.http_requests(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_funded_ring_is_one_cluster_and_a_slow_provider_does_not_hold_the_alert() {
    let pg = TestPostgres::new();
    let (pool, db) = database(&pg).await;
    let redis = TestRedis::start();
    let rpc = FakeChainRpc::start();
    let source = key(30);
    rpc.fund(&exchange(), &source, 1_600_000_000);
    let ring: Vec<Pubkey> = (31..36).map(key).collect();
    let solo: Vec<Pubkey> = (41..46).map(key).collect();
    for (i, w) in ring.iter().enumerate() {
        rpc.fund(&source, w, 1_700_000_000 + i as i64);
    }
    for (i, w) in solo.iter().enumerate() {
        let own = key(50 + i as u8);
        rpc.fund(&exchange(), &own, 1_600_000_000);
        rpc.add_activity(&own, 500); // an established wallet of its own owner
        rpc.fund(&own, w, 1_700_000_000);
    }
    let sol = 1_000_000_000u64;
    let enricher = Enricher::new(pool.clone(), redis_pool(&redis), &config(&rpc, 10_000));
    let volumes = vec![2 * sol; 5];

    let (intel, pending) = enricher
        .wallet_intel("RingMint", 0, &strings(&ring), &volumes, 10 * sol)
        .await;
    assert!(pending.is_none(), "the trace ended within max_wait_ms");
    assert!(intel.missing.is_empty(), "{:?}", intel.missing);
    assert_eq!(intel.clusters.len(), 1);
    assert_eq!(intel.clusters[0].size(), 5);
    assert_eq!(intel.largest_cluster_share, Some(1.0));
    assert_eq!(intel.funded_by_same_source_pct, Some(1.0));
    // RPC cost of this alert (5 new buyers, one fresh source funded by an exchange): a page and
    // a transaction per buyer, then the source's, in 4 HTTP requests.
    assert_eq!((rpc.calls().len(), rpc.http_requests()), (12, 4));
    let (again, _) = enricher
        .wallet_intel("RingMint", 0, &strings(&ring), &volumes, 10 * sol)
        .await;
    assert_eq!(again.clusters, intel.clusters);
    assert_eq!(
        (rpc.calls().len(), rpc.http_requests()),
        (12, 4),
        "a second alert on the same wallets makes no request"
    );

    let (intel, _) = enricher
        .wallet_intel("SoloMint", 0, &strings(&solo), &volumes, 10 * sol)
        .await;
    assert!(intel.missing.is_empty(), "{:?}", intel.missing);
    assert_eq!(intel.clusters.len(), 5, "independent wallets stay apart");
    assert_eq!(intel.largest_cluster_share, Some(0.2));
    assert_eq!(intel.funded_by_same_source_pct, Some(0.2));
    // 5 buyers with established funders: 5 pages and 5 transactions, then one page per funder
    // (more than fresh_max_signatures: not followed), in 3 HTTP requests.
    assert_eq!((rpc.calls().len(), rpc.http_requests()), (12 + 15, 4 + 3));

    // A provider slower than max_wait_ms: the alert goes on without the trace, says so, and the
    // trace is recorded when it ends.
    let late = key(60);
    rpc.fund(&exchange(), &late, 1_700_000_000);
    rpc.set_delay(Duration::from_millis(700));
    let hurried = Enricher::new(
        pool.clone(),
        redis_pool(&redis),
        &EnrichConfig {
            max_wait_ms: 200,
            ..config(&rpc, 10_000)
        },
    );
    let started = std::time::Instant::now();
    let (intel, pending) = hurried
        .wallet_intel("LateMint", 0, &strings(&[late]), &[sol], sol)
        .await;
    assert!(
        started.elapsed() < Duration::from_millis(650),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        intel.missing,
        vec!["funding trace: still running after 200 ms (recorded later)".to_string()]
    );
    let query = format!(
        "SELECT count(*) FROM wallet_profiles WHERE address = '{}' AND funding_status = 'funded'",
        late.to_base58()
    );
    support::wait_until(
        "the late trace is recorded",
        Duration::from_secs(20),
        || pg.psql(&db, &query).trim() == "1",
    );
    // And the complete intel, for the alert row, once it ends.
    let finished = hurried
        .finish_late(pending.expect("the trace outlived max_wait_ms"))
        .await
        .expect("the late trace ends");
    assert!(finished.missing.is_empty(), "{:?}", finished.missing);
    assert_eq!(finished.funding[0].2.as_deref(), Some("Binance 2"));
}

/// A buy of `mint` by `wallet` whose fee `payer` paid.
fn buy(sig: &str, mint: &str, wallet: &Pubkey, payer: &str, lamports: u64) -> SwapRow {
    SwapRow {
        signature: sig.into(),
        leg: 0,
        slot: 1,
        block_time: 1_700_000_500,
        venue: "pumpfun".into(),
        user_wallet: wallet.to_base58(),
        fee_payer: payer.into(),
        side: Side::Buy,
        base_mint: mint.into(),
        base_amount: 1_000,
        base_decimals: 6,
        quote_mint: "So11111111111111111111111111111111111111112".into(),
        quote_amount: lamports,
        quote_decimals: 9,
        sol_value_lamports: Some(lamports),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_sharing_a_fee_payer_or_sending_each_other_sol_are_one_cluster() {
    let pg = TestPostgres::new();
    let (pool, _db) = database(&pg).await;
    let redis = TestRedis::start();
    let rpc = FakeChainRpc::start();
    // Five buyers, each funded by an established wallet of its own (no shared funder).
    let buyers: Vec<Pubkey> = (71..76).map(key).collect();
    let [x, y, z, w, v] = [buyers[0], buyers[1], buyers[2], buyers[3], buyers[4]];
    for (i, b) in buyers.iter().enumerate() {
        let own = key(80 + i as u8);
        rpc.fund(&exchange(), &own, 1_600_000_000);
        rpc.add_activity(&own, 500);
        rpc.fund(&own, b, 1_700_000_000);
    }
    // x sends y SOL later; z trades once more, alone.
    rpc.add_activity(&x, 3);
    rpc.transfer(&x, &y, 1_700_000_200);
    rpc.add_activity(&y, 2);
    rpc.add_activity(&z, 4);
    // The buys: z pays w's fee (a wallet paying for another's buy); v's fee was paid by a
    // labelled wallet, which links nobody; the others paid their own.
    let sol = 1_000_000_000u64;
    let mint = "LinkMint";
    let z58 = z.to_base58();
    let rows = vec![
        buy("s1", mint, &x, &x.to_base58(), 3 * sol),
        buy("s2", mint, &y, &y.to_base58(), sol),
        buy("s3", mint, &z, &z58, sol),
        buy("s4", mint, &w, &z58, sol),
        buy("s5", mint, &v, BINANCE_2, 3 * sol / 2),
        // The same payer on another mint links nothing here.
        buy("s6", "OtherMint", &x, &z58, sol),
    ];
    insert_swaps(&pool, &rows).await.unwrap();
    let volumes = vec![3 * sol, sol, sol, sol, 3 * sol / 2];
    let enricher = Enricher::new(pool.clone(), redis_pool(&redis), &config(&rpc, 10_000));

    let (intel, _) = enricher
        .wallet_intel(mint, 0, &strings(&buyers), &volumes, 10 * sol)
        .await;
    assert!(intel.missing.is_empty(), "{:?}", intel.missing);
    let clusters: Vec<(Vec<String>, u64)> = intel
        .clusters
        .iter()
        .map(|c| (c.members.clone(), c.volume_lamports))
        .collect();
    let want = vec![
        (strings(&[x, y]), 4 * sol),
        (strings(&[z, w]), 2 * sol),
        (strings(&[v]), 3 * sol / 2),
    ];
    assert_eq!(clusters, want);
    assert_eq!(intel.largest_cluster_share, Some(0.4));
    // Cost: 5 first pages (1 HTTP request); 5 funding transactions + 1 transaction the lists of
    // x and y share (1 request); 5 funders' pages, all established (1 request).
    assert_eq!(
        (rpc.calls_of(SIGS), rpc.calls_of(TX)),
        (10, 6),
        "{:#?}",
        rpc.calls()
    );
    assert_eq!(rpc.http_requests(), 3);

    // A second alert on the same wallets: the same clusters, no request.
    let (again, _) = enricher
        .wallet_intel(mint, 0, &strings(&buyers), &volumes, 10 * sol)
        .await;
    assert_eq!(again.clusters, intel.clusters);
    assert_eq!(rpc.http_requests(), 3, "the cache answers");
}
