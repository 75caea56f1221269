//! Quick measurement of the swap store's insert rate into a throwaway PostgreSQL (initdb into a
//! temp dir, a free loopback port, fsync off like the integration tests: the CPU-bound ceiling).
//! Server binaries from `POCKETWATCHER_PG_BIN` or the newest `/usr/lib/postgresql/*/bin`; as
//! root they run as the `postgres` OS user (runuser).
//!
//! ```text
//! cargo run --release --example pg_insert_rate [ROWS] [RUNS]     # defaults: 200000 3
//! ```
//!
//! Per run, on an empty `swap_events`: ROWS swap-shaped rows (88-character signatures, 20,000
//! wallets, 2,000 mints with a skewed popularity, ~10% second legs) are inserted
//!  (a) as ROWS / 5,000 `insert_swaps` calls of 5,000 rows (one statement, one commit each: the
//!      daemon's shape), then
//!  (b) again, all duplicates (what a redelivery costs; every call must return 0), and
//!  (c) after TRUNCATE, as ONE `insert_swaps` call (5,000-row statements in one transaction).
//! Prints rows/s of each run and the median over RUNS runs.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use pocketwatcher::domain::Side;
use pocketwatcher::store::postgres::{
    connect, insert_swaps, run_migrations, SwapRow, INSERT_CHUNK_ROWS,
};

/// A throwaway cluster; stopped (immediate) and removed on drop.
struct Throwaway {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Throwaway {
    fn start() -> Self {
        let bin = std::env::var_os("POCKETWATCHER_PG_BIN")
            .map(PathBuf::from)
            .or_else(|| {
                let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .flatten()
                    .filter_map(|e| {
                        let v = e.file_name().to_string_lossy().parse().ok()?;
                        Some((v, e.path().join("bin")))
                    })
                    .collect();
                dirs.sort();
                dirs.pop().map(|(_, p)| p)
            })
            .expect("PostgreSQL server binaries (set POCKETWATCHER_PG_BIN)");
        let dir = std::env::temp_dir().join(format!("pw-rate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        if as_postgres {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let pg = Throwaway {
            bin,
            dir,
            port,
            as_postgres,
        };
        run(pg
            .server("initdb")
            .arg("-D")
            .arg(pg.dir.join("data"))
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]));
        run(pg
            .server("pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(pg.dir.join("data"))
            .arg("-l")
            .arg(pg.dir.join("log"))
            .args(["-w", "-t", "30", "-o"])
            .arg(format!(
                "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off",
                pg.port,
                pg.dir.display()
            )));
        pg
    }

    fn server(&self, program: &str) -> Command {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(program));
            c
        } else {
            Command::new(self.bin.join(program))
        };
        cmd.current_dir(&self.dir);
        cmd
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn psql(&self, db: &str, sql: &str) {
        run(Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
            ])
            .args(["-p", &self.port.to_string(), "-d", db, "-c", sql]));
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        let _ = self
            .server("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// splitmix64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }
}

fn make_rows(n: usize, seed: u64) -> Vec<SwapRow> {
    let mut rng = Rng(seed);
    let wallets: Vec<String> = (0..20_000)
        .map(|_| bs58::encode(rng.bytes::<32>()).into_string())
        .collect();
    let mints: Vec<String> = (0..2_000)
        .map(|_| bs58::encode(rng.bytes::<32>()).into_string())
        .collect();
    let wsol = "So11111111111111111111111111111111111111112".to_string();
    let mut rows = Vec::with_capacity(n);
    while rows.len() < n {
        let signature = bs58::encode(rng.bytes::<64>()).into_string();
        let legs = if rng.next() % 10 == 0 { 2 } else { 1 };
        for leg in 0..legs {
            // Skewed popularity: squaring a uniform draw favours low indexes.
            let u = (rng.next() % 1_000_000) as f64 / 1_000_000.0;
            let mint = &mints[((u * u) * mints.len() as f64) as usize];
            let buy = rng.next() % 3 != 0;
            let wallet = wallets[(rng.next() % wallets.len() as u64) as usize].clone();
            rows.push(SwapRow {
                signature: signature.clone(),
                leg,
                slot: 380_000_000 + rows.len() as i64 / 40,
                block_time: 1_760_000_000 + rows.len() as i64 / 2_000,
                venue: "pump.fun".to_string(),
                user_wallet: wallet.clone(),
                fee_payer: wallet,
                side: if buy { Side::Buy } else { Side::Sell },
                base_mint: mint.clone(),
                base_amount: rng.next() >> (rng.next() % 40),
                base_decimals: 6,
                quote_mint: wsol.clone(),
                quote_amount: rng.next() >> 24,
                quote_decimals: 9,
                sol_value_lamports: Some(rng.next() >> 24),
            });
            if rows.len() == n {
                break;
            }
        }
    }
    rows
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(200_000, |a| a.parse().expect("ROWS"));
    let runs: usize = args.next().map_or(3, |a| a.parse().expect("RUNS"));

    let pg = Throwaway::start();
    let db = "rate";
    pg.psql("postgres", "CREATE DATABASE rate");
    let url = pg.url(db);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let (mut calls, mut dups, mut single) = (Vec::new(), Vec::new(), Vec::new());
    runtime.block_on(async {
        run_migrations(&url).await.expect("migrations");
        let pool = connect(&url, 2).await.expect("connect");
        for run in 0..runs {
            let rows = make_rows(n, 0xC0FFEE + run as u64);
            pg.psql(db, "TRUNCATE swap_events; CHECKPOINT");

            let t = Instant::now();
            let mut inserted = 0;
            for batch in rows.chunks(INSERT_CHUNK_ROWS) {
                inserted += insert_swaps(&pool, batch).await.expect("insert");
            }
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(inserted, n as u64);
            calls.push(n as f64 / secs);

            let t = Instant::now();
            for batch in rows.chunks(INSERT_CHUNK_ROWS) {
                assert_eq!(insert_swaps(&pool, batch).await.expect("dup insert"), 0);
            }
            let dup_secs = t.elapsed().as_secs_f64();
            dups.push(n as f64 / dup_secs);

            pg.psql(db, "TRUNCATE swap_events; CHECKPOINT");
            let t = Instant::now();
            assert_eq!(insert_swaps(&pool, &rows).await.expect("insert"), n as u64);
            let one_secs = t.elapsed().as_secs_f64();
            single.push(n as f64 / one_secs);

            println!(
                "run {}: {n} rows in {}-row calls {secs:.2} s = {:.0} rows/s | all duplicates \
                 {dup_secs:.2} s = {:.0} rows/s | one call {one_secs:.2} s = {:.0} rows/s",
                run + 1,
                INSERT_CHUNK_ROWS,
                n as f64 / secs,
                n as f64 / dup_secs,
                n as f64 / one_secs,
            );
        }
    });
    println!(
        "median of {runs}: {:.0} rows/s (5,000-row calls), {:.0} rows/s (duplicates), {:.0} rows/s \
         (one call)",
        median(calls),
        median(dups),
        median(single)
    );
}
