//! Runs the real `pocketwatcher` binary as a child process, with a config pointing at throwaway
//! servers, and controls it with real signals (SIGKILL, SIGTERM, SIGSTOP, SIGCONT).

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, unique_name};

/// Settings for one daemon process.
pub struct DaemonConfig {
    pub redis_url: String,
    pub postgres_url: String,
    pub instance: String,
    pub yellowstone_endpoint: String,
    /// Extra TOML appended verbatim (sections after the generated ones).
    pub extra: String,
    pub reclaim_idle_secs: u64,
    pub read_count: usize,
}

impl DaemonConfig {
    pub fn new(redis_url: String, postgres_url: String) -> Self {
        DaemonConfig {
            redis_url,
            postgres_url,
            instance: "0".into(),
            yellowstone_endpoint: "http://127.0.0.1:1".into(),
            extra: String::new(),
            reclaim_idle_secs: 5,
            read_count: 200,
        }
    }

    fn toml(&self, metrics_port: u16) -> String {
        format!(
            r#"
[redis]
url = "{redis}"
[postgres]
url = "{pg}"
[yellowstone]
endpoint = "{endpoint}"
watchdog_secs = 5
backoff_initial_ms = 50
backoff_max_secs = 1
[consume]
consumer_name = "test-{instance}"
instance = "{instance}"
read_count = {read_count}
block_ms = 100
[reclaim]
interval_secs = 1
min_idle_secs = {idle}
[supervisor]
heartbeat_secs = 1
[shutdown]
deadline_secs = 15
[metrics]
listen = "127.0.0.1:{metrics_port}"
[log]
level = "info"
{extra}
"#,
            redis = self.redis_url,
            pg = self.postgres_url,
            endpoint = self.yellowstone_endpoint,
            instance = self.instance,
            read_count = self.read_count,
            idle = self.reclaim_idle_secs,
            extra = self.extra,
        )
    }
}

pub struct Daemon {
    child: Option<Child>,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
    pub metrics_port: u16,
    role: String,
}

impl Daemon {
    pub fn start(config: &DaemonConfig, role: &str) -> Daemon {
        let metrics_port = free_port();
        let dir = std::env::temp_dir().join(unique_name("pw-daemon"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let config_path = dir.join("pocketwatcher.toml");
        std::fs::write(&config_path, config.toml(metrics_port)).expect("write config");
        let log_path = dir.join("daemon.log");
        let mut d = Daemon {
            child: None,
            config_path,
            log_path,
            metrics_port,
            role: role.into(),
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_pocketwatcher"))
            .args(["run", "--config"])
            .arg(&self.config_path)
            .args(["--role", &self.role])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start pocketwatcher");
        self.child = Some(child);
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {sig} failed");
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Starts the process again after [`Daemon::kill9`], with the same config, role and log.
    pub fn respawn(&mut self) {
        assert!(self.child.is_none(), "respawn of a running daemon");
        self.spawn();
    }

    pub fn stop_signal(&self) {
        self.signal("-STOP");
    }

    pub fn cont_signal(&self) {
        self.signal("-CONT");
    }

    /// SIGTERM, then waits for the exit status (panics after `deadline`).
    pub fn terminate(&mut self, deadline: Duration) -> ExitStatus {
        self.signal("-TERM");
        self.wait_exit(deadline)
    }

    pub fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        let started = Instant::now();
        let child = self.child.as_mut().expect("running");
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return status;
            }
            if started.elapsed() > deadline {
                panic!(
                    "daemon did not exit within {deadline:?}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().ok().flatten().is_none(),
            None => false,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The Prometheus text of `/metrics` (empty when unreachable).
    pub fn metrics(&self) -> String {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.metrics_port)) else {
            return String::new();
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
