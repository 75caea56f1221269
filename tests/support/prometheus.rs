//! A throwaway Prometheus server: the real `prometheus` binary (Debian's package; path from
//! `POCKETWATCHER_PROMETHEUS`, else `prometheus` on `PATH`, else `/usr/bin/prometheus`) on a free
//! loopback port, with a temporary config and storage directory. It scrapes the given targets
//! every second. Dropping it kills the server and removes the directory.
//!
//! Queries go through the real HTTP API (`GET /api/v1/query`), so an expression Prometheus would
//! reject in Grafana is rejected here too.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{find_on_path, free_port, log_tail, make_temp_dir, START_ATTEMPTS};

/// How long Prometheus may take to answer `/-/ready` after being started.
pub const PROMETHEUS_READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct TestPrometheus {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
}

/// The answer to one instant query.
#[derive(Debug, Clone)]
pub enum QueryResult {
    /// Prometheus accepted the expression; one entry per series, `(labels, value)`.
    Series(Vec<(serde_json::Value, String)>),
    /// Prometheus refused it (parse error, unknown function, wrong types, ...).
    Rejected(String),
}

impl TestPrometheus {
    /// Starts Prometheus scraping `targets` (`host:port`, plain HTTP `/metrics`) every second and
    /// waits until it is ready.
    pub fn start(targets: &[String]) -> TestPrometheus {
        let binary = prometheus_binary();
        let dir = make_temp_dir("prom");
        let config = dir.join("prometheus.yml");
        let quoted: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: pocketwatcher\n    static_configs:\n      \
                 - targets: [{}]\n",
                quoted.join(", ")
            ),
        )
        .expect("write prometheus.yml");
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let log = std::fs::File::create(dir.join("prometheus.log")).expect("prometheus log");
            let child = Command::new(&binary)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn")
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot run {} ({e}); bash scripts/test.sh installs Debian's prometheus",
                        binary.display()
                    )
                });
            let mut prom = TestPrometheus {
                child: Some(child),
                dir: dir.clone(),
                port,
            };
            match prom.wait_ready() {
                Ok(()) => return prom,
                Err(e) => {
                    last_error = e;
                    prom.kill();
                }
            }
        }
        panic!("TestPrometheus: could not start after {START_ATTEMPTS} attempts: {last_error}");
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = http_get(self.port, "/-/ready") {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!("prometheus exited with {status}:\n{}", self.log()));
            }
            if started.elapsed() > PROMETHEUS_READY_TIMEOUT {
                return Err(format!(
                    "not ready after {PROMETHEUS_READY_TIMEOUT:?}:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        log_tail(&self.dir.join("prometheus.log"), 8_000)
    }

    /// Runs `expr` as an instant query at the current time.
    pub fn query(&self, expr: &str) -> QueryResult {
        let path = format!("/api/v1/query?query={}", percent_encode(expr));
        let (status, body) = match http_get(self.port, &path) {
            Ok(answer) => answer,
            Err(e) => return QueryResult::Rejected(format!("no answer: {e}")),
        };
        let json: serde_json::Value = match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(e) => {
                return QueryResult::Rejected(format!("HTTP {status}, not JSON ({e}): {body}"))
            }
        };
        if json["status"] != "success" {
            return QueryResult::Rejected(format!(
                "HTTP {status}: {} {}",
                json["errorType"].as_str().unwrap_or(""),
                json["error"].as_str().unwrap_or(&body)
            ));
        }
        let data = &json["data"];
        let series = match data["resultType"].as_str() {
            Some("vector") => data["result"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let value = s["value"][1].as_str().unwrap_or("").to_string();
                    (s["metric"].clone(), value)
                })
                .collect(),
            // A scalar or string always has one value.
            Some("scalar") | Some("string") => {
                vec![(serde_json::Value::Null, data["result"][1].to_string())]
            }
            other => {
                return QueryResult::Rejected(format!("unexpected result type {other:?}: {body}"))
            }
        };
        QueryResult::Series(series)
    }

    /// Number of successful scrapes of every target so far (0 until the first one).
    pub fn scrapes(&self) -> usize {
        match self.query("min(count_over_time(up[1h]))") {
            QueryResult::Series(s) => s
                .first()
                .and_then(|(_, v)| v.parse::<f64>().ok())
                .map_or(0, |v| v as usize),
            QueryResult::Rejected(_) => 0,
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestPrometheus {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn prometheus_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("POCKETWATCHER_PROMETHEUS").filter(|v| !v.is_empty()) {
        return PathBuf::from(path);
    }
    find_on_path("prometheus").unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus"))
}

/// `GET path` over HTTP/1.0 on 127.0.0.1:`port`: (status, body).
fn http_get(port: u16, path: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP header")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    Ok((status, body.to_string()))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
