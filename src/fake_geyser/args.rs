//! `pocketwatcher fake-geyser`: the command-line face of the fake server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use super::{FakeGeyser, FakeGeyserConfig, Fixtures, MintSkew, TrafficParams};
use crate::secret::Secret;

/// Options of `pocketwatcher fake-geyser`.
#[derive(Debug, Clone, clap::Args)]
pub struct FakeGeyserArgs {
    /// Address to serve Yellowstone gRPC on.
    #[arg(long, default_value = "127.0.0.1:10000")]
    pub listen: SocketAddr,
    /// Directory of RPC getTransaction JSON files (every *.json, sorted by name).
    #[arg(long, default_value = "tests/fixtures/mainnet")]
    pub fixtures: PathBuf,
    /// Serve this recording (`pocketwatcher record --out DIR`) instead of the fixtures, once, at
    /// its recorded pace (see --speed, --as-fast-as-possible).
    #[arg(long, value_name = "DIR")]
    pub recording: Option<PathBuf>,
    /// With --recording: the recorded pace times this (2 = twice as fast, 0.5 = half).
    #[arg(
        long,
        default_value_t = 1.0,
        requires = "recording",
        conflicts_with = "as_fast_as_possible"
    )]
    pub speed: f64,
    /// With --recording: as fast as clients read, ignoring the recorded times.
    #[arg(long, requires = "recording")]
    pub as_fast_as_possible: bool,
    /// Transactions per second (0 = as fast as clients read). Not with --recording.
    #[arg(long, default_value_t = 0, conflicts_with = "recording")]
    pub rate: u64,
    /// Stop producing after this many transactions, keeping streams open (0 = forever).
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    /// Slot of the first transaction.
    #[arg(long, default_value_t = 300_000_000)]
    pub start_slot: u64,
    /// Transactions per slot (a block meta follows the last one).
    #[arg(long, default_value_t = 40)]
    pub tx_per_slot: u64,
    /// Size of the pool of wallets that replace the fixtures' signers and owners.
    #[arg(long, default_value_t = 20_000)]
    pub wallets: usize,
    /// Size of the pool of mints that replace the fixtures' non-quote mints.
    #[arg(long, default_value_t = 2_000)]
    pub mints: usize,
    /// How concentrated trades are on a few mints: the exponent s of a Zipf-like law (mint k is
    /// drawn with weight ≈ (k+1)^-s). 0 = uniform, 1 = log-uniform (mainnet-like), up to 4.
    #[arg(long, default_value = "1")]
    pub mint_skew: MintSkew,
    /// Seed of the deterministic traffic (signatures, wallets, mints).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Per mille of wallet draws that take a never-seen wallet instead of a pool one (0 = off;
    /// 1000 = every wallet new), so first-seen state grows as on mainnet. Deterministic per seq.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1000))]
    pub fresh_wallets_per_mille: u16,
    /// Seconds between server pings on each stream.
    #[arg(long, default_value_t = 15)]
    pub ping_interval_secs: u64,
    /// How many slots behind the newest one a from_slot may go.
    #[arg(long, default_value_t = 100_000)]
    pub retain_slots: u64,
    /// Drop every open stream once after this many transactions were sent (reconnect tests).
    #[arg(long)]
    pub drop_after: Option<u64>,
    /// Keep a record of every transaction sent in this JSON file (and FILE.bits), continuing it
    /// if it exists (the soak test's witness; see `fake_geyser::ledger`).
    #[arg(long, hide = true)]
    pub ledger: Option<PathBuf>,
    /// Require this x-token from clients.
    #[arg(long, env = "POCKETWATCHER_FAKE_GEYSER_X_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub x_token: Option<Secret>,
}

fn parse_secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(s))
}

impl FakeGeyserArgs {
    /// The server configuration these options describe.
    pub fn config(&self) -> FakeGeyserConfig {
        let fixtures = match &self.recording {
            Some(dir) => Fixtures::Recording(dir.clone()),
            None => Fixtures::Dir(self.fixtures.clone()),
        };
        let mut config = FakeGeyserConfig::with_fixtures(fixtures);
        if self.recording.is_some() && !self.as_fast_as_possible {
            config.pace = Some(self.speed);
        }
        config.listen = self.listen;
        config.traffic = TrafficParams {
            start_slot: self.start_slot,
            tx_per_slot: self.tx_per_slot,
            wallets: self.wallets,
            mints: self.mints,
            mint_skew: self.mint_skew,
            seed: self.seed,
            fresh_wallets_per_mille: self.fresh_wallets_per_mille,
        };
        config.rate = self.rate;
        config.count = self.count;
        config.ping_interval = Duration::from_secs(self.ping_interval_secs.max(1));
        config.retain_slots = self.retain_slots;
        config.drop_after = self.drop_after;
        config.x_token = self.x_token.clone();
        config.ledger = self.ledger.clone();
        config
    }
}

/// Serves until ctrl-c or SIGTERM, logging progress every 10 s.
pub async fn run(args: FakeGeyserArgs) -> anyhow::Result<()> {
    let server = FakeGeyser::start(args.config())
        .await
        .context("fake-geyser")?;
    tracing::info!(
        endpoint = %server.endpoint(),
        rate = args.rate,
        count = args.count,
        "fake-geyser serving (ctrl-c to stop)"
    );
    let mut report = tokio::time::interval(Duration::from_secs(10));
    report.tick().await;
    let mut last_sent = 0u64;
    let mut stop = std::pin::pin!(stop_signal());
    loop {
        tokio::select! {
            signal = &mut stop => {
                signal.context("waiting for ctrl-c / SIGTERM")?;
                break;
            }
            _ = report.tick() => {
                let sent = server.sent();
                tracing::info!(
                    sent,
                    per_second = (sent - last_sent) / 10,
                    subscribers = server.subscribers(),
                    newest_slot = server.newest_slot(),
                    "fake-geyser progress"
                );
                last_sent = sent;
            }
        }
    }
    tracing::info!(sent = server.sent(), "fake-geyser stopping");
    server.shutdown().await;
    Ok(())
}

/// Ctrl-c (SIGINT), or SIGTERM on Unix.
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: FakeGeyserArgs,
    }

    #[test]
    fn a_bad_mint_skew_is_refused_with_its_range() {
        let err = Cli::try_parse_from(["x", "--mint-skew", "9"])
            .err()
            .expect("refused")
            .to_string();
        assert!(
            err.contains("--mint-skew") && err.contains("from 0 (uniform) to 4"),
            "{err}"
        );
    }

    #[test]
    fn defaults_and_overrides() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        let c = cli.args.config();
        assert_eq!(c.listen, "127.0.0.1:10000".parse().unwrap());
        assert_eq!(c.traffic, TrafficParams::default());
        assert_eq!(c.ping_interval, Duration::from_secs(15));
        assert_eq!(c.retain_slots, 100_000);
        assert_eq!(c.drop_after, None);

        let cli = Cli::try_parse_from([
            "x",
            "--listen",
            "127.0.0.1:0",
            "--fixtures",
            "/tmp/f",
            "--rate",
            "5000",
            "--count",
            "10",
            "--tx-per-slot",
            "3",
            "--drop-after",
            "7",
            "--mint-skew",
            "0",
            "--x-token",
            "hunter2",
        ])
        .unwrap();
        let c = cli.args.config();
        assert_eq!(c.rate, 5000);
        assert_eq!(c.count, 10);
        assert_eq!(c.traffic.tx_per_slot, 3);
        assert_eq!(c.traffic.mint_skew, MintSkew::UNIFORM);
        assert_eq!(c.drop_after, Some(7));
        assert_eq!(c.x_token.as_ref().map(|s| s.expose()), Some("hunter2"));
        assert!(!format!("{:?}", cli.args).contains("hunter2"));
    }

    #[test]
    fn a_recording_is_paced_unless_as_fast_as_possible() {
        let c = Cli::try_parse_from(["x", "--recording", "/tmp/r"])
            .unwrap()
            .args
            .config();
        assert!(
            matches!(c.fixtures, Fixtures::Recording(ref d) if d == std::path::Path::new("/tmp/r"))
        );
        assert_eq!(c.pace, Some(1.0));
        let c = Cli::try_parse_from(["x", "--recording", "/tmp/r", "--speed", "4"])
            .unwrap()
            .args
            .config();
        assert_eq!(c.pace, Some(4.0));
        let c = Cli::try_parse_from(["x", "--recording", "/tmp/r", "--as-fast-as-possible"])
            .unwrap()
            .args
            .config();
        assert_eq!((c.pace, c.rate), (None, 0));
        assert!(
            Cli::try_parse_from(["x", "--speed", "2"]).is_err(),
            "--speed needs --recording"
        );
        assert!(Cli::try_parse_from(["x", "--recording", "r", "--rate", "5"]).is_err());
        assert!(Cli::try_parse_from([
            "x",
            "--recording",
            "r",
            "--speed",
            "2",
            "--as-fast-as-possible"
        ])
        .is_err());
    }
}
