#!/usr/bin/env python3
"""The soak run behind scripts/soak.sh: the whole system under faults, sampled, then checked.

scripts/soak.sh starts the throwaway Redis and PostgreSQL (scripts/lib/services.sh) and builds the
binary; this script does the rest, with the standard library only (matplotlib is used for the
plots when it can be imported):

- the feed: `pocketwatcher fake-geyser --rate RATE --count RATE×SECONDS --ledger FILE`, with
  `--tx-per-slot` = RATE × 0.4 so that chain time runs at wall-clock speed as on mainnet;
- Discord and Telegram stand-ins (chat_standin.py) that answer 429 and 5xx now and then;
- `run --role ingest`, two `--role consume`, two `--role detect`, each restarted 1 s after it dies
  (systemd's Restart=always);
- faults on a schedule scaled to the run (see `schedule`), and a few deliberate poison entries;
- a sample every SAMPLE seconds into samples.csv;
- at the end: drain, stop, check, and write report.md (+ PNG plots) into OUT. Exit 1 if a check
  fails.

Environment (set by soak.sh): BIN, REDIS_URL, POSTGRES_URL, SERVICES_DIR, PG_BIN, OUT,
SOAK_SECONDS, SOAK_RATE, and optionally SOAK_SAMPLE_SECS, SOAK_SEED, SOAK_RSS_SLOPE_MB_H,
SOAK_REDIS_SLOPE_MB_H, SOAK_DRAIN_SECS, SOAK_FRESH_WALLETS (per mille of the feed's wallet
draws that are never-seen wallets: first-seen growth; default 0, off).
"""
import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import soak_check
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ["BIN"]
REDIS_URL = os.environ["REDIS_URL"]
POSTGRES_URL = os.environ["POSTGRES_URL"]
SERVICES_DIR = os.environ["SERVICES_DIR"]
PG_BIN = os.environ["PG_BIN"]
OUT = os.environ["OUT"]
SECONDS = float(os.environ["SOAK_SECONDS"])
RATE = int(os.environ["SOAK_RATE"])
SAMPLE = float(os.environ.get("SOAK_SAMPLE_SECS", "5"))
SEED = int(os.environ.get("SOAK_SEED", "1"))
FRESH_WALLETS = int(os.environ.get("SOAK_FRESH_WALLETS", "0"))
DRAIN_SECS = float(os.environ.get("SOAK_DRAIN_SECS", str(max(300.0, SECONDS * 0.25))))
POISON_PER_HOUR = 3
WORK = os.path.join(OUT, "run")
REDIS_PORT = int(REDIS_URL.rsplit(":", 1)[1].strip("/"))
PG_PORT = int(POSTGRES_URL.rsplit(":", 1)[1].split("/")[0])

T0 = time.time()
events = []  # (seconds since start, text)
events_lock = threading.Lock()
stopping = threading.Event()


def log(msg):
    line = f"[soak {time.time() - T0:7.1f}s] {msg}"
    print(line, flush=True)


def event(msg):
    with events_lock:
        events.append((time.time() - T0, msg))
    log(msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- Redis (a minimal RESP client: one short connection per call, so a restart never matters) --

def redis(*args, timeout=10.0):
    with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=timeout) as s:
        out = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(f"${len(b)}\r\n".encode() + b + b"\r\n")
        s.sendall(b"".join(out))
        f = s.makefile("rb")
        return _resp(f)


def _resp(f):
    line = f.readline()
    if not line:
        raise ConnectionError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError("redis: " + rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp(f) for _ in range(n)]
    raise RuntimeError(f"redis: unexpected reply {line!r}")


def pairs(flat):
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in zip(flat[::2], flat[1::2])}


def dump_slowlog(tag):
    """Appends Redis's slow log (commands over 10 ms: what blocked it, e.g. a long script) to
    OUT/slowlog.txt and clears it; the log lives in Redis's memory, so it is read before a restart."""
    try:
        rows = redis("SLOWLOG", "GET", "128") or []
        redis("SLOWLOG", "RESET")
    except (ConnectionError, OSError, RuntimeError) as e:
        rows, tag = [], f"{tag} (not read: {e})"
    with open(os.path.join(OUT, "slowlog.txt"), "a") as f:
        f.write(f"# {tag}: {len(rows)} entries (duration ms, unix time, command)\n")
        for r in rows:
            args = [a.decode(errors="replace") if isinstance(a, bytes) else str(a) for a in r[3]]
            f.write(f"{r[2] / 1000:10.1f} {r[1]} {' '.join(a[:40] for a in args[:6])}\n")


def redis_info_memory():
    text = redis("INFO", "memory").decode()
    for line in text.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return None


def stream_state():
    """entries-added of stream:tx, and the group's lag and pending (None before the group)."""
    info = pairs(redis("XINFO", "STREAM", "stream:tx"))
    added = info.get("entries-added")
    groups = [pairs(g) for g in redis("XINFO", "GROUPS", "stream:tx")]
    g = next((g for g in groups if g.get("name") == b"parsers"), None)
    if g is None:
        return added, None, None
    return added, soak_check.undelivered(info, g), g.get("pending")



# --- PostgreSQL ----------------------------------------------------------------------------------

def psql(sql, timeout=30):
    r = subprocess.run(
        [os.path.join(PG_BIN, "psql"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres",
         "-d", "pocketwatcher", "-tAX", "-F", "\t", "-c", sql],
        capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("psql: " + r.stderr.strip())
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def as_postgres(cmd):
    if os.getuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


# --- processes -----------------------------------------------------------------------------------

class Supervised:
    """A process restarted 1 s after it exits, as systemd's Restart=always would."""

    def __init__(self, name, argv, env=None, restart=True):
        self.name, self.argv, self.restart = name, argv, restart
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.starts = 0
        self.paused = threading.Event()  # set: do not restart (a deliberate outage)
        self.lock = threading.Lock()
        self.logfile = open(os.path.join(WORK, f"{name}.log"), "ab")
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _spawn(self):
        with self.lock:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=self.logfile,
                                         stderr=subprocess.STDOUT, cwd=ROOT)
            self.starts += 1

    def _run(self):
        while not stopping.is_set():
            if self.paused.is_set():
                time.sleep(0.2)
                continue
            self._spawn()
            code = self.proc.wait()
            if stopping.is_set() or not self.restart:
                return
            if not self.paused.is_set():
                event(f"{self.name} exited ({code}); restarting in 1 s")
            time.sleep(1)

    def pid(self):
        with self.lock:
            return self.proc.pid if self.proc and self.proc.poll() is None else None

    def signal(self, sig):
        pid = self.pid()
        if pid:
            os.kill(pid, sig)
        return pid

    def stop(self, timeout=60):
        p = self.proc
        if p and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def metrics(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name_labels, _, value = line.rpartition(" ")
        name = name_labels.split("{", 1)[0]
        try:
            out[name] = out.get(name, 0.0) + float(value)
        except ValueError:
            pass
        out[name_labels] = value
    return out


# --- the run -------------------------------------------------------------------------------------

def schedule(seconds):
    """The faults, scaled to the run. Per hour: a kill -9 every 10 minutes, one Redis restart, one
    PostgreSQL restart, one 60 s feed outage, and POISON_PER_HOUR poison entries. A shorter run
    scales every interval by seconds/3600, so each fault still happens at least once (the feed
    outage lasts at least 15 s, so the ingest really sees it)."""
    hours = max(1, int(-(-seconds // 3600)))
    span = min(seconds, 3600.0)
    scale = span / 3600.0
    plan = []
    t = 600 * scale
    while t < seconds - 5:
        plan.append((t, "kill"))
        t += 600 * scale
    for h in range(hours):
        base = h * 3600.0
        for frac, what in ((0.15, "poison"), (0.35, "redis"), (0.55, "postgres"), (0.75, "feed")):
            at = base + frac * span
            if at < seconds - 5:
                plan.append((at, what))
    return sorted(plan), max(15.0, 60 * scale)


def main():
    os.makedirs(WORK, exist_ok=True)
    rng = random.Random(SEED)
    feed_port, discord_port, telegram_port = free_port(), free_port(), free_port()
    count = int(RATE * SECONDS)
    tx_per_slot = max(1, round(RATE * 0.4))
    ledger = os.path.join(WORK, "ledger.json")
    with open(os.path.join(WORK, "soak.toml"), "w") as f:
        f.write(f"""[redis]
url = "{REDIS_URL}"
[postgres]
url = "{POSTGRES_URL}"
[yellowstone]
endpoint = "http://127.0.0.1:{feed_port}"
backoff_max_secs = 5
[swap_store]
# The fake's block times start in 2023: keep its rows (retention deletes by wall clock).
retention_days = 36500
[alerts]
discord_webhook_url = "http://127.0.0.1:{discord_port}/api/webhooks/1/soak"
telegram_bot_token = "123456:soak"
telegram_chat_id = "-1001"
telegram_api_base = "http://127.0.0.1:{telegram_port}"
[log]
level = "info"
""")
    config = os.path.join(WORK, "soak.toml")
    chat = []
    for name, port in (("discord", discord_port), ("telegram", telegram_port)):
        chat.append(Supervised(f"standin-{name}", [
            sys.executable, os.path.join(ROOT, "scripts/soak/chat_standin.py"), "--port",
            str(port), "--log", os.path.join(WORK, f"{name}.jsonl"), "--seed",
            str(SEED + len(chat))], restart=False).start())
    feed = Supervised("feed", [BIN, "fake-geyser", "--listen", f"127.0.0.1:{feed_port}",
                               "--fixtures", "tests/fixtures/mainnet", "--rate", str(RATE),
                               "--count", str(count), "--tx-per-slot", str(tx_per_slot),
                               "--seed", str(SEED), "--ledger", ledger]
                      + (["--fresh-wallets-per-mille", str(FRESH_WALLETS)] if FRESH_WALLETS else [])
                      ).start()
    daemons = {}
    roles = [("ingest", "ingest-1"), ("consume", "consume-1"), ("consume", "consume-2"),
             ("detect", "detect-1"), ("detect", "detect-2")]
    ports = {}
    for role, name in roles:
        ports[name] = free_port()
        daemons[name] = Supervised(name, [BIN, "run", "--config", config, "--role", role], env={
            "POCKETWATCHER_METRICS_LISTEN": f"127.0.0.1:{ports[name]}",
            "POCKETWATCHER_CONSUMER": f"soak-{name}",
        })
    # Ingest first: the consumers' group is created on the stream it writes.
    daemons["ingest-1"].start()
    for name in list(daemons)[1:]:
        daemons[name].start()
    event(f"started: feed at {RATE} tx/s for {SECONDS:.0f} s ({count} transactions, "
          f"{tx_per_slot} per slot), ingest, 2 consume, 2 detect")

    plan, outage = schedule(SECONDS)
    with open(os.path.join(OUT, "schedule.json"), "w") as f:
        json.dump({"faults": plan, "feed_outage_secs": outage}, f)
    poison_sent = []
    samples = []
    sample_file = open(os.path.join(OUT, "samples.csv"), "w", newline="")
    fields = ["t", "ledger_sent", "entries_added", "group_lag", "pending", "redis_used_memory",
              "swap_rows", "alerts", "delivered", "coalesced", "waiting"] + \
             [f"rss_{n}" for n in daemons] + [f"pid_{n}" for n in daemons]
    writer = csv.DictWriter(sample_file, fieldnames=fields)
    writer.writeheader()

    def take_sample():
        row = {"t": round(time.time() - T0, 1)}
        try:
            with open(ledger) as f:
                row["ledger_sent"] = json.load(f)["distinct_sent"]
        except (OSError, ValueError, KeyError):
            row["ledger_sent"] = ""
        try:
            added, lag, pending = stream_state()
            row.update(entries_added=added, group_lag=lag, pending=pending,
                       redis_used_memory=redis_info_memory())
        except Exception:  # Redis restarting: a gap in the plot
            pass
        try:
            row["swap_rows"] = psql("SELECT count(*) FROM swap_events")[0][0]
            row["alerts"] = psql("SELECT count(*) FROM alerts")[0][0]
            counts = dict(psql("SELECT status, count(*) FROM alert_deliveries GROUP BY 1"))
            row["delivered"] = counts.get("sent", 0)
            row["coalesced"] = counts.get("coalesced", 0)
            row["waiting"] = counts.get("pending", 0)
        except Exception:  # PostgreSQL restarting (or not migrated yet)
            pass
        for n, d in daemons.items():
            pid = d.pid()
            row[f"rss_{n}"] = rss_bytes(pid) if pid else ""
            row[f"pid_{n}"] = pid or ""
        samples.append(row)
        writer.writerow(row)
        sample_file.flush()
        return row

    def do_fault(what):
        if what == "kill":
            name = rng.choice(sorted(daemons))
            pid = daemons[name].signal(signal.SIGKILL)
            event(f"fault: kill -9 {name} (pid {pid})")
        elif what == "poison":
            for k in range(POISON_PER_HOUR):
                payload = f"soak-poison-{len(poison_sent)}".encode()
                redis("XADD", "stream:tx", "*", "data", payload)
                poison_sent.append(payload)
            event(f"fault: {POISON_PER_HOUR} poison entries added to stream:tx")
        elif what == "redis":
            event("fault: Redis restart (SHUTDOWN, then the same command line)")
            dump_slowlog("before the Redis restart")
            try:
                redis("SHUTDOWN")
            except (ConnectionError, OSError, RuntimeError):
                pass
            for _ in range(100):
                try:
                    redis("PING", timeout=0.5)
                    time.sleep(0.1)
                except OSError:
                    break
            subprocess.run(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
                            "--dir", SERVICES_DIR, "--save", "", "--appendonly", "yes",
                            "--appendfsync", "everysec", "--daemonize", "yes", "--pidfile",
                            os.path.join(SERVICES_DIR, "redis.pid"), "--logfile",
                            os.path.join(SERVICES_DIR, "redis.log")], check=True)
            deadline = time.time() + 120
            while time.time() < deadline:
                try:
                    if redis("PING", timeout=1) == "PONG":
                        break
                except (OSError, RuntimeError):
                    pass
                time.sleep(0.2)
            event("Redis is back")
        elif what == "postgres":
            event("fault: PostgreSQL restart (pg_ctl restart -m fast)")
            subprocess.run(as_postgres([os.path.join(PG_BIN, "pg_ctl"), "-D",
                                        os.path.join(SERVICES_DIR, "pg"), "-m", "fast", "-w",
                                        "restart"]), check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            event("PostgreSQL is back")
        elif what == "feed":
            event(f"fault: feed outage of {outage:.0f} s (fake-geyser stopped)")
            feed.paused.set()
            feed.stop()
            time.sleep(outage)
            feed.paused.clear()
            event("feed is back")

    next_sample = time.time()
    pending_faults = list(plan)
    while time.time() - T0 < SECONDS:
        now = time.time() - T0
        if pending_faults and pending_faults[0][0] <= now:
            _, what = pending_faults.pop(0)
            if what == "feed":  # long: run it beside the sampler
                threading.Thread(target=do_fault, args=(what,), daemon=True).start()
            else:
                do_fault(what)
        if time.time() >= next_sample:
            take_sample()
            next_sample += SAMPLE
        time.sleep(0.2)
    event("fault window over; waiting for the feed to finish and the pipeline to drain")

    # Drain: the feed stops at `count` transactions; then the ledger stops moving, the group has
    # nothing left, the alerts are written and every delivery is settled.
    deadline = time.time() + DRAIN_SECS
    stable_since, last_key = None, None
    drained = False
    while time.time() < deadline:
        row = take_sample()
        key = (row.get("ledger_sent"), row.get("entries_added"), row.get("swap_rows"),
               row.get("alerts"), row.get("delivered"), row.get("coalesced"))
        settled = (row.get("group_lag") == 0 and row.get("pending") == 0
                   and str(row.get("waiting", "x")) == "0")
        if settled and key == last_key:
            stable_since = stable_since or time.time()
            if time.time() - stable_since >= 20:
                drained = True
                break
        else:
            stable_since = None
        last_key = key
        time.sleep(SAMPLE)
    event("drained" if drained else f"not drained after {DRAIN_SECS:.0f} s")

    dump_slowlog("end of run")
    stopping.set()
    for d in daemons.values():
        d.stop()
    feed.stop()
    for c in chat:
        c.stop()
    sample_file.close()
    with open(os.path.join(OUT, "events.json"), "w") as f:
        json.dump(events, f, indent=1)
    ok = soak_check.check_and_report(
        out=OUT, work=WORK, ledger=ledger, samples=samples, events=events,
        daemons={n: d.starts for n, d in daemons.items()}, feed_starts=feed.starts,
        poison=poison_sent, drained=drained, seconds=SECONDS, rate=RATE, redis=redis,
        psql=psql, plan=plan, outage=outage, sample_secs=SAMPLE)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        code = main()
    finally:
        stopping.set()
    sys.exit(code)
