//! Test support shared by the integration tests (`mod support;`).
//!
//! Every integration test that needs Redis or PostgreSQL starts its own throwaway server on a free
//! loopback port with its own temporary directory; nothing here relies on a service that is already
//! running, and nothing here ever talks to the default ports 6379 / 5432.
//!
//! * [`TestRedis`]: a `redis-server` child process (binary from `POCKETWATCHER_REDIS_SERVER` or
//!   `redis-server` on `PATH`).
//! * [`TestPostgres`]: a throwaway PostgreSQL cluster made with `initdb` and run with `pg_ctl`
//!   (binaries from `POCKETWATCHER_PG_BIN` or the newest `/usr/lib/postgresql/*/bin`). When the
//!   tests run as root, the server binaries run as the `postgres` OS user through `runuser`.
//! * [`wait_until`] / [`wait_until_async`]: polling with a deadline. Every wait has a deadline;
//!   nothing here synchronises with a fixed sleep.
#![allow(dead_code)]

use std::collections::HashSet;
use std::ffi::OsString;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a Redis server may take to answer PING after being started.
pub const REDIS_READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a PostgreSQL server may take to accept connections after being started.
pub const PG_READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to exit after being asked to stop.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Attempts at starting a fresh server when the chosen free port turns out to be taken.
const START_ATTEMPTS: usize = 5;

// ---------------------------------------------------------------------------------------------
// Generic helpers
// ---------------------------------------------------------------------------------------------

static COUNTER: AtomicU64 = AtomicU64::new(0);
static HANDED_OUT_PORTS: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, drop the socket).
///
/// Ports already handed out by this process are never returned twice, so tests running in
/// parallel threads do not race each other for the same port.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        drop(listener);
        let mut guard = HANDED_OUT_PORTS.lock().unwrap_or_else(|e| e.into_inner());
        if guard.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
    panic!("free_port: could not find a port that was not handed out already");
}

/// A name that is unique across processes and calls, e.g. for a database:
/// `unique_name("swaps")` → `swaps_12345_3_1712345678901`. Only `[a-z0-9_]` characters are
/// added, so it is a valid unquoted SQL identifier when `prefix` is.
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000_000)
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// Polls `f` every 50 ms until it returns true; panics naming `what` and the elapsed time if it
/// is still false when `timeout` has passed. `f` is always evaluated at least once, and once more
/// at the deadline.
pub fn wait_until<F: FnMut() -> bool>(what: &str, timeout: Duration, mut f: F) {
    let start = Instant::now();
    let deadline = start + timeout;
    loop {
        if f() {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            panic!(
                "timed out waiting for {what}: still false after {:.2?} (timeout {:?})",
                start.elapsed(),
                timeout
            );
        }
        std::thread::sleep(POLL_INTERVAL.min(deadline - now));
    }
}

/// Async variant of [`wait_until`]: awaits `f()` every 50 ms (with `tokio::time::sleep`) until it
/// yields true; panics naming `what` and the elapsed time when `timeout` has passed.
pub async fn wait_until_async<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    let deadline = start + timeout;
    loop {
        if f().await {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            panic!(
                "timed out waiting for {what}: still false after {:.2?} (timeout {:?})",
                start.elapsed(),
                timeout
            );
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    }
}

/// Polls `probe` until it yields a value and returns it; after `timeout`, panics with what
/// `explain` says (called only then, so it can show the last state and the daemon's logs).
pub async fn wait_for_value<T>(
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
    explain: impl FnOnce() -> String,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            start.elapsed() < timeout,
            "after {timeout:?}: {}",
            explain()
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// A fresh, empty directory under `std::env::temp_dir()`, unique per process, call and time.
fn make_temp_dir(kind: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    // Kept short: a PostgreSQL unix socket path must fit in 107 bytes.
    let dir = std::env::temp_dir().join(format!("pw-{kind}-{}-{n}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// The last `max` bytes of a log file, for panic messages.
fn log_tail(path: &Path, max: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let start = bytes.len().saturating_sub(max);
            String::from_utf8_lossy(&bytes[start..]).into_owned()
        }
        Err(e) => format!("<cannot read {}: {e}>", path.display()),
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Sends a signal with the shell's `kill` builtin (std has no SIGTERM; this avoids a libc
/// dependency and does not need procps).
fn send_signal(pid: u32, signal: &str) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{signal} {pid} 2>/dev/null"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Waits for `child` to exit, up to `timeout`. Returns false if it is still running.
fn wait_child(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return true,
            Ok(None) => {}
            Err(_) => return true,
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------

fn redis_server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("POCKETWATCHER_REDIS_SERVER").filter(|v| !v.is_empty()) {
        return PathBuf::from(bin);
    }
    find_on_path("redis-server").unwrap_or_else(|| {
        panic!(
            "redis-server not found on PATH; install it (bash scripts/test.sh does: apt-get install \
             redis-server) or set POCKETWATCHER_REDIS_SERVER to its path"
        )
    })
}

/// One PING over a raw TCP connection; true if the answer is `+PONG`. A server that is still
/// loading its data answers `-LOADING`, which counts as not ready.
fn redis_ping(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = Vec::with_capacity(16);
    let mut buf = [0u8; 64];
    while !reply.ends_with(b"\r\n") && reply.len() < 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    reply.starts_with(b"+PONG")
}

/// A throwaway `redis-server` on 127.0.0.1 and a free port, with its own temp directory.
///
/// ```ignore
/// let redis = TestRedis::start();            // appendonly no
/// let client = redis::Client::open(redis.url())?;
/// let durable = TestRedis::start_persistent(); // appendonly yes, appendfsync always
/// durable.kill(); durable.restart();           // data written before kill() is still there
/// ```
///
/// Dropping it kills the process (SIGKILL) and removes the directory.
pub struct TestRedis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    persistent: bool,
    binary: PathBuf,
}

impl TestRedis {
    /// A Redis with no persistence at all (`--save "" --appendonly no`).
    pub fn start() -> Self {
        Self::launch(false)
    }

    /// A Redis whose data survives [`stop`](Self::stop), [`kill`](Self::kill) and
    /// [`restart`](Self::restart): `--appendonly yes --appendfsync always` (no RDB snapshots).
    pub fn start_persistent() -> Self {
        Self::launch(true)
    }

    fn launch(persistent: bool) -> Self {
        let binary = redis_server_binary();
        let dir = make_temp_dir("redis");
        let mut redis = TestRedis {
            child: None,
            port: 0,
            dir,
            persistent,
            binary,
        };
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            redis.port = free_port();
            match redis.spawn_and_wait() {
                Ok(()) => return redis,
                // Most likely the port was taken between free_port() and the server's bind.
                Err(e) => last_error = e,
            }
        }
        panic!(
            "TestRedis: could not start redis-server after {START_ATTEMPTS} attempts: {last_error}"
        );
    }

    /// `redis://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The server's log so far (for diagnostics).
    pub fn log(&self) -> String {
        log_tail(&self.log_path(), usize::MAX)
    }

    /// Graceful shutdown: SIGTERM, then wait (with a deadline) for the process to exit. An
    /// appendonly instance fsyncs its AOF on the way out, so its data survives. No-op when it is
    /// not running.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            send_signal(child.id(), "TERM");
            if !wait_child(&mut child, STOP_TIMEOUT) {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "TestRedis on port {} did not exit within {STOP_TIMEOUT:?} of SIGTERM; log:\n{}",
                    self.port,
                    log_tail(&self.log_path(), 4096)
                );
            }
        }
    }

    /// Crash: SIGKILL and reap. With [`start_persistent`](Self::start_persistent) every write
    /// acknowledged before the kill is still there after [`restart`](Self::restart).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory (stopping it gracefully first if it
    /// is still running) and waits until it answers PING (i.e. has loaded its AOF).
    pub fn restart(&mut self) {
        self.stop();
        if let Err(e) = self.spawn_and_wait() {
            panic!("TestRedis: restart on port {} failed: {e}", self.port);
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.log_path())
            .arg("--daemonize")
            .arg("no")
            .arg("--save")
            .arg("")
            .arg("--appendonly")
            .arg(if self.persistent { "yes" } else { "no" });
        if self.persistent {
            cmd.arg("--appendfsync").arg("always");
        }
        cmd.current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", self.binary.display()))?;
        self.child = Some(child);

        let start = Instant::now();
        let deadline = start + REDIS_READY_TIMEOUT;
        loop {
            let exited = match self.child.as_mut().map(|c| c.try_wait()) {
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Err(e)) => Some(e.to_string()),
                _ => None,
            };
            if let Some(status) = exited {
                self.child = None;
                return Err(format!(
                    "redis-server on port {} exited ({status}) before answering PING; log:\n{}",
                    self.port,
                    log_tail(&self.log_path(), 4096)
                ));
            }
            if redis_ping(self.port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(format!(
                    "redis-server on port {} did not answer PING within {:?}; log:\n{}",
                    self.port,
                    REDIS_READY_TIMEOUT,
                    log_tail(&self.log_path(), 4096)
                ));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

fn pg_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("POCKETWATCHER_PG_BIN").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        for entry in entries.flatten() {
            let version = entry
                .file_name()
                .to_string_lossy()
                .split('.')
                .next()
                .and_then(|major| major.parse::<u32>().ok());
            let bin = entry.path().join("bin");
            if let Some(v) = version {
                if bin.join("initdb").is_file() && best.as_ref().is_none_or(|(b, _)| v > *b) {
                    best = Some((v, bin));
                }
            }
        }
    }
    if let Some((_, bin)) = best {
        return bin;
    }
    if let Some(initdb) = find_on_path("initdb") {
        return initdb
            .parent()
            .expect("initdb has a parent dir")
            .to_path_buf();
    }
    panic!(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or on \
         PATH; install them (bash scripts/test.sh does: apt-get install postgresql) or set \
         POCKETWATCHER_PG_BIN to the directory holding them"
    )
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    if let Ok(meta) = std::fs::metadata("/proc/self") {
        return meta.uid() == 0;
    }
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn describe_output(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A throwaway PostgreSQL cluster (`initdb` into a temp dir, trust auth, superuser `postgres`)
/// listening on 127.0.0.1 and a free port, with its unix socket inside the temp dir. Durability
/// is traded for speed (`fsync=off`, `synchronous_commit=off`, `full_page_writes=off`), but a
/// clean [`stop`](Self::stop) / [`start`](Self::start) keeps all data.
///
/// ```ignore
/// let mut pg = TestPostgres::new();
/// let db = unique_name("swaps");
/// pg.create_database(&db);
/// let conn = AsyncPgConnection::establish(&pg.url(&db)).await?;
/// pg.stop();   // fast shutdown
/// pg.start();  // same port, same data
/// ```
///
/// Dropping it stops the server in immediate mode and removes the directory.
pub struct TestPostgres {
    bin: PathBuf,
    base: PathBuf,
    port: u16,
    as_postgres_user: bool,
    running: bool,
}

impl TestPostgres {
    /// Creates the cluster with `initdb` and starts it on a free port, waiting until it accepts
    /// connections.
    pub fn new() -> Self {
        let bin = pg_bin_dir();
        let base = make_temp_dir("pg");
        let as_postgres_user = running_as_root();
        let mut pg = TestPostgres {
            bin,
            base,
            port: 0,
            as_postgres_user,
            running: false,
        };
        if pg.as_postgres_user {
            // initdb and postgres refuse to run as root: hand the directory to `postgres`.
            let out = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&pg.base)
                .output()
                .expect("run chown");
            assert!(
                out.status.success(),
                "chown postgres {} failed (does the `postgres` OS user exist?): {}",
                pg.base.display(),
                describe_output(&out)
            );
        }
        let out = pg
            .server_command("initdb")
            .arg("-D")
            .arg(pg.data_dir())
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync")
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            describe_output(&out)
        );

        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            pg.port = free_port();
            match pg.try_start() {
                Ok(()) => return pg,
                // Most likely the port was taken between free_port() and the server's bind.
                Err(e) => last_error = e,
            }
        }
        panic!("TestPostgres: could not start after {START_ATTEMPTS} attempts: {last_error}");
    }

    /// `postgres://postgres@127.0.0.1:PORT/<db>`
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> PathBuf {
        self.base.join("data")
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// The server's log so far (for diagnostics).
    pub fn log(&self) -> String {
        log_tail(&self.log_path(), usize::MAX)
    }

    /// `createdb` via the client binary in the same bin dir. Panics on failure.
    pub fn create_database(&self, name: &str) {
        let out = Command::new(self.bin.join("createdb"))
            .args(self.client_args())
            .arg(name)
            .current_dir(&self.base)
            .stdin(Stdio::null())
            .output()
            .expect("run createdb");
        assert!(
            out.status.success(),
            "createdb {name} failed: {}",
            describe_output(&out)
        );
    }

    /// Runs SQL with `psql` against `db` (ON_ERROR_STOP) and returns its unaligned, tuples-only
    /// output. Panics on failure. Handy for assertions that should not depend on the crate.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(self.client_args())
            .args([
                "-d",
                db,
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .current_dir(&self.base)
            .stdin(Stdio::null())
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql:?} failed: {}",
            describe_output(&out)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Fast shutdown (`pg_ctl stop -m fast`), data kept. No-op when not running.
    pub fn stop(&mut self) {
        if self.running {
            self.pg_ctl_stop("fast")
                .unwrap_or_else(|e| panic!("TestPostgres stop: {e}"));
        }
    }

    /// Starts the (stopped) server again on the same port and directory, waiting until it
    /// accepts connections. No-op when already running.
    pub fn start(&mut self) {
        if !self.running {
            if let Err(e) = self.try_start() {
                panic!("TestPostgres: start on port {} failed: {e}", self.port);
            }
        }
    }

    /// `stop()` then `start()`.
    pub fn restart(&mut self) {
        self.stop();
        self.start();
    }

    fn log_path(&self) -> PathBuf {
        self.base.join("postgres.log")
    }

    fn client_args(&self) -> Vec<OsString> {
        vec![
            "-h".into(),
            "127.0.0.1".into(),
            "-p".into(),
            self.port.to_string().into(),
            "-U".into(),
            "postgres".into(),
        ]
    }

    /// A command for a server binary (`initdb`, `pg_ctl`), run as the `postgres` OS user when we
    /// are root.
    fn server_command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut cmd = if self.as_postgres_user {
            let runuser = find_on_path("runuser")
                .or_else(|| {
                    ["/usr/sbin/runuser", "/sbin/runuser"]
                        .iter()
                        .map(PathBuf::from)
                        .find(|p| p.is_file())
                })
                .expect(
                    "runuser (util-linux) is needed to run PostgreSQL as `postgres` under root",
                );
            let mut cmd = Command::new(runuser);
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        // The caller's cwd may not be readable by `postgres`.
        cmd.current_dir(&self.base).stdin(Stdio::null());
        cmd
    }

    fn try_start(&mut self) -> Result<(), String> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off",
            self.port,
            self.base.display()
        );
        // `-w -t`: pg_ctl itself returns as soon as the server is ready or has died.
        let out = self
            .server_command("pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .arg("-w")
            .arg("-t")
            .arg(PG_READY_TIMEOUT.as_secs().to_string())
            .arg("-o")
            .arg(options)
            .output()
            .map_err(|e| format!("run pg_ctl start: {e}"))?;
        if !out.status.success() {
            // Make sure nothing half-started is left behind before a retry.
            let _ = self.pg_ctl_stop("immediate");
            return Err(format!(
                "pg_ctl start on port {} failed: {}\nlog:\n{}",
                self.port,
                describe_output(&out),
                log_tail(&self.log_path(), 4096)
            ));
        }
        self.running = true;

        // Confirm over TCP, as clients will connect.
        let start = Instant::now();
        let deadline = start + PG_READY_TIMEOUT;
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(self.client_args())
                .args(["-d", "postgres", "-t", "2"])
                .current_dir(&self.base)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = self.pg_ctl_stop("immediate");
                return Err(format!(
                    "PostgreSQL on port {} not ready (pg_isready) within {PG_READY_TIMEOUT:?}; log:\n{}",
                    self.port,
                    log_tail(&self.log_path(), 4096)
                ));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn pg_ctl_stop(&mut self, mode: &str) -> Result<(), String> {
        let out = self
            .server_command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", mode, "-w", "-t"])
            .arg(STOP_TIMEOUT.as_secs().to_string())
            .output()
            .map_err(|e| format!("run pg_ctl stop: {e}"))?;
        self.running = false;
        // Exit status 1 with "PID file ... does not exist" means it was not running: fine.
        if out.status.success() || String::from_utf8_lossy(&out.stderr).contains("does not exist") {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl stop -m {mode} failed: {}",
                describe_output(&out)
            ))
        }
    }
}

impl Default for TestPostgres {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if self.running {
            let _ = self.pg_ctl_stop("immediate");
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

pub mod daemon;
pub mod fake_chain_rpc;
pub mod fake_chat;
pub mod fake_rpc;
pub mod http_request;
pub mod prometheus;
pub mod scenarios;
pub mod workload;
