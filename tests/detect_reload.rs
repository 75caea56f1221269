//! Trigger hot reload on the real daemon (`--role detect`): a changed file or SIGHUP applies a
//! valid trigger file atomically; an invalid one is refused and the running set stays.

mod support;

use std::process::Command;
use std::time::Duration;

use support::daemon::{Daemon, DaemonConfig};
use support::{unique_name, wait_until, TestPostgres, TestRedis};

const ONE: &str = "[[triggers]]\nname = \"a\"\nconditions = [\"buy_count_5m >= 20\"]\n";
const TWO: &str = "[[triggers]]\nname = \"a\"\nconditions = [\"buy_count_5m >= 20\"]\n\
                   [[triggers]]\nname = \"b\"\nconditions = [\"buy_volume_sol_1h >= 50\"]\n";
const BAD: &str = "[[triggers]]\nname = \"a\"\nconditions = [\"buy_count_15m >= 20\"]\n";

/// Replaces the file atomically (write a sibling, rename), as editors and config tools do, so the
/// daemon never reads a half-written file.
fn replace(file: &std::path::Path, text: &str) {
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, file).unwrap();
}

fn metric(daemon: &Daemon, line_start: &str) -> Option<f64> {
    daemon
        .metrics()
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn trigger_files_reload_on_change_and_sighup_and_bad_files_are_refused() {
    let redis = TestRedis::start();
    let pg = TestPostgres::new();
    pg.create_database("reload");
    let dir = std::env::temp_dir().join(unique_name("pw-triggers"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("triggers.toml");
    std::fs::write(&file, ONE).unwrap();
    let mut config = DaemonConfig::new(redis.url(), pg.url("reload"));
    config.extra = format!(
        "[detect]\ntriggers_file = \"{}\"\nreload_poll_secs = 1\n",
        file.display()
    );
    let mut daemon = Daemon::start(&config, "detect");
    let deadline = Duration::from_secs(90);
    wait_until("one trigger active", deadline, || {
        metric(&daemon, "pocketwatcher_triggers_active ") == Some(1.0)
    });

    replace(&file, TWO);
    wait_until("the changed file is applied", deadline, || {
        metric(&daemon, "pocketwatcher_triggers_active ") == Some(2.0)
    });

    replace(&file, BAD);
    wait_until("the invalid file is refused", deadline, || {
        metric(
            &daemon,
            "pocketwatcher_trigger_reloads_total{result=\"refused\"}",
        ) >= Some(1.0)
    });
    assert_eq!(
        metric(&daemon, "pocketwatcher_triggers_active "),
        Some(2.0),
        "the running set stays"
    );
    let log = daemon.log();
    assert!(
        log.contains("buy_count_15m") && log.contains("refused"),
        "the log names the bad condition"
    );

    // SIGHUP re-reads the file even when nothing on disk changed.
    replace(&file, ONE);
    wait_until("the good file is applied again", deadline, || {
        metric(&daemon, "pocketwatcher_triggers_active ") == Some(1.0)
    });
    let applied = metric(
        &daemon,
        "pocketwatcher_trigger_reloads_total{result=\"applied\"}",
    );
    let status = Command::new("kill")
        .args(["-HUP", &daemon.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_until("SIGHUP reloads", deadline, || {
        metric(
            &daemon,
            "pocketwatcher_trigger_reloads_total{result=\"applied\"}",
        ) > applied
    });
    assert!(daemon.is_running(), "SIGHUP does not stop the daemon");
    daemon.terminate(Duration::from_secs(30));
}
