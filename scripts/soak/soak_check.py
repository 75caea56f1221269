"""The soak's checks and its report (report.md, soak.png), called by soak.py at the end of a run.

Checks (each one a row of the report's table; any failure makes soak.sh exit 1):
- swaps: rows in swap_events == swaps in the feed's ledger (the distinct transactions the fake
  sent, run through the project's inference), and distinct signatures == its swap transactions;
- counters: each live pw:ch:{mint}:{hour} hash's buy + sell counts == the swap rows of that mint
  and hour (a double-counted or lost entry shows here); a (mint, hour) with rows and no hash is a
  loss unless its last row is older than the counter TTL (then the hash expired by design);
- dead letters: stream:tx:dead holds exactly the deliberate poison entries;
- outbox: every alert has a delivery row per channel, each `sent` or `coalesced` (none pending or
  failed), and the stand-ins' 2xx answers witness each sent alert once (per channel, the multiset
  of mints of accepted single-alert messages equals that of `sent` rows), and each digest once
  (accepted digest messages == alert_digests rows, and their counts == coalesced rows);
- memory: RSS of every process (its longest life between restarts), after warm-up, grows by at most
  the stated slope per hour (least squares; the first 10 minutes of each life are warm-up); Redis
  used_memory stays within its budget (README "Redis memory budget") and, once the run outlasts
  the fill horizon (the first whole chain hour + the counter TTL), is flat;
- keys bounded: a census of every key at the end, by family: only the fixed singletons and
  streams live without a TTL, and no rolling key's TTL exceeds its window;
- drained: the run ended with nothing waiting.
"""
import collections
import json
import os
import re

RSS_SLOPE_MB_H = float(os.environ.get("SOAK_RSS_SLOPE_MB_H", "20"))
REDIS_SLOPE_MB_H = float(os.environ.get("SOAK_REDIS_SLOPE_MB_H", "0"))  # 0: see default below
# Redis budget per 1,000 tx/s at steady state (README "Redis memory budget", measured by the 1-hour
# soak of 2026-12-07 at 2,000 tx/s: per-minute keys fill at ≈ 550 MB/h per 1k tx/s until their
# 65-minute TTL, plus duplicate markers (15 min) and the stream), and the fixed part.
REDIS_BUDGET_MB_PER_1K = float(os.environ.get("SOAK_REDIS_BUDGET_MB_PER_1K", "750"))
REDIS_BASE_MB = 50.0
# Redis fills until its rolling keys start expiring as fast as they arrive: per-minute keys after
# counters.counter_ttl_secs (default 3900 s), but the per-hour counter hashes only a TTL after the
# end of the first whole chain hour (fill_horizon). Its slope is judged only after that horizon,
# about 2.5-3 h into a run; shorter runs rely on the key census (every key bounded by a TTL).
COUNTER_TTL_SECS = float(os.environ.get("SOAK_COUNTER_TTL_SECS", "3900"))

# Per counter hash: its key and its buy + sell count, so each live hash can be held against the
# swap rows of its (mint, hour). A sum over all hashes is wrong once the run outlasts the TTL: a
# long-tail mint's early hour hash expires (by design) while its rows stay.
COUNTS_BY_HASH = """
local cursor, out = '0', {}
repeat
  local r = redis.call('SCAN', cursor, 'MATCH', 'pw:ch:*', 'COUNT', 1000)
  cursor = r[1]
  for _, k in ipairs(r[2]) do
    local h, sum = redis.call('HGETALL', k), 0
    for i = 1, #h, 2 do
      local tail = string.sub(h[i], -2)
      if tail == ':b' or tail == ':s' then sum = sum + tonumber(h[i + 1]) end
    end
    out[#out + 1] = k
    out[#out + 1] = sum
  end
until cursor == '0'
return out
"""

# One SCAN page of the key census: per family (the key's first two `:` parts), the number of keys,
# of keys without a TTL, the largest TTL left, and their memory. Returns the next cursor and the
# rows flat; soak_check merges the pages, so no single script blocks Redis for the whole keyspace.
CENSUS_PAGE = """
local r = redis.call('SCAN', ARGV[1], 'COUNT', 2000)
local fam = {}
for _, k in ipairs(r[2]) do
  local a, b = string.match(k, '^([^:]*):?([^:]*)')
  local f = a .. ':' .. b
  local ttl = redis.call('TTL', k)
  local mem = redis.call('MEMORY', 'USAGE', k) or 0
  local e = fam[f]
  if not e then e = {0, 0, -1, 0}; fam[f] = e end
  e[1] = e[1] + 1
  if ttl == -1 then e[2] = e[2] + 1 end
  if ttl > e[3] then e[3] = ttl end
  e[4] = e[4] + mem
end
local out = {r[1]}
for f, e in pairs(fam) do
  out[#out + 1] = f
  out[#out + 1] = e[1]
  out[#out + 1] = e[2]
  out[#out + 1] = e[3]
  out[#out + 1] = e[4]
end
return out
"""

DAY = 86_400
DEDUP_TTL_SECS = float(os.environ.get("SOAK_DEDUP_TTL_SECS", "900"))
# The longest TTL each rolling key family may carry (keys.rs's table, the soak's config); families
# not named here must have a TTL (any), except the fixed singletons and streams below.
FAMILY_TTL_BOUND = {
    "pw:ch": COUNTER_TTL_SECS, "pw:px": COUNTER_TTL_SECS, "pw:hb": COUNTER_TTL_SECS,
    "pw:hs": COUNTER_TTL_SECS, "pw:wv": COUNTER_TTL_SECS, "pw:touched": COUNTER_TTL_SECS,
    "pw:sig": DEDUP_TTL_SECS, "pw:fs": 8 * DAY, "pw:fsb": 9 * DAY, "pw:rpc": 2 * DAY,
}
# Keys that live for ever by design: one per deployment, or trimmed by their owner (keys.rs).
NO_TTL_FAMILIES = {"pw:active", "pw:ingest", "pw:clock", "pw:hot", "pw:alerts", "pw:detector",
                   "pw:tmp", "stream:tx", "pocketwatcher:live_stats"}

MIN_JUDGED_SECS = 600
RSS_WARMUP_SECS = float(os.environ.get("SOAK_RSS_WARMUP_SECS", "600"))

BURST = re.compile(r"(\d+) alerts in a burst")


def slope_per_hour(points):
    """Least-squares slope of (seconds, value) points, in value units per hour."""
    n = len(points)
    if n < 3:
        return None
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    den = sum((t - mx) ** 2 for t, _ in points)
    if den == 0:
        return None
    return sum((t - mx) * (v - my) for t, v in points) / den * 3600


def after_warmup(points, frac=0.25, min_secs=60):
    if not points:
        return points
    start, end = points[0][0], points[-1][0]
    cut = start + max(min_secs, (end - start) * frac)
    return [p for p in points if p[0] >= cut]


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def witness(work, deliveries, digests):
    """Per channel: (ok, text) comparing the stand-in's accepted messages with the outbox."""
    results = {}
    for channel in ("discord", "telegram"):
        singles, digest_totals, bodies = collections.Counter(), [], 0
        path = os.path.join(work, f"{channel}.jsonl")
        refused = 0
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    rec = json.loads(line)
                    if not 200 <= rec["status"] < 300:
                        refused += 1
                        continue
                    bodies += 1
                    body = rec["body"] or {}
                    if channel == "discord":
                        embed = (body.get("embeds") or [{}])[0]
                        title = embed.get("title", "")
                        footer = (embed.get("footer") or {}).get("text", "")
                        m = BURST.search(title)
                        if m:
                            digest_totals.append(int(m.group(1)))
                        elif footer.startswith("Mint: "):
                            singles[footer[len("Mint: "):]] += 1
                        else:
                            singles["<unrecognised>"] += 1
                    else:
                        text = body.get("text", "")
                        m = BURST.search(text.replace("\\", ""))
                        if m:
                            digest_totals.append(int(m.group(1)))
                        else:
                            found = re.search(r"\n`([1-9A-HJ-NP-Za-km-z]{32,44})`\n", text)
                            singles[found.group(1) if found else "<unrecognised>"] += 1
        sent = collections.Counter(d["mint"] for d in deliveries
                                   if d["channel"] == channel and d["status"] == "sent")
        coalesced = sum(1 for d in deliveries
                        if d["channel"] == channel and d["status"] == "coalesced")
        rows = [g for g in digests if g["channel"] == channel]
        twice = sum(n - sent[m] for m, n in singles.items() if n > sent[m])
        missing = sum(n - singles[m] for m, n in sent.items() if n > singles[m])
        ok = (twice == 0 and missing == 0 and len(digest_totals) == len(rows)
              and sum(digest_totals) == coalesced == sum(g["alert_count"] for g in rows))
        results[channel] = (ok, (
            f"{sum(sent.values())} sent rows, {sum(singles.values())} accepted single messages "
            f"({missing} missing, {twice} extra); {len(rows)} digests in the outbox covering "
            f"{coalesced} coalesced alerts, {len(digest_totals)} accepted digest messages "
            f"covering {sum(digest_totals)}; {refused} requests answered 429/5xx"))
    return results


def pairs(flat):
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in zip(flat[::2], flat[1::2])}


def entry_id(raw):
    """A stream id as a comparable (ms, seq) pair."""
    ms, seq = raw.decode().split("-")
    return int(ms), int(seq)


def undelivered(stream, group):
    """The group's lag, robust to Redis's own going wrong after a crash (as `GroupInfo.lag` in src/store/redis/stream.rs).

    Redis derives lag from two counters that an AOF reload can leave apart for good (a soak saw a
    constant 69,445 with everything delivered), and answers nil when it cannot estimate."""
    newest = stream.get("last-generated-id")
    if not newest or entry_id(newest) == (0, 0):
        return 0
    if entry_id(group.get("last-delivered-id", b"0-0")) >= entry_id(newest):
        return 0
    at_most = max(0, (stream.get("length") or 0) - (group.get("pending") or 0))
    lag = group.get("lag")
    return at_most if lag is None else min(lag, at_most)


def nothing_left(redis, psql):
    """True when the group has delivered and acknowledged everything and no alert waits."""
    stream = pairs(redis("XINFO", "STREAM", "stream:tx"))
    groups = [pairs(g) for g in redis("XINFO", "GROUPS", "stream:tx")]
    group = next((g for g in groups if g.get("name") == b"parsers"), None)
    if group is None:
        return False
    waiting = int(psql("SELECT count(*) FROM alert_deliveries "
                       "WHERE status = 'pending'")[0][0])
    return undelivered(stream, group) == 0 and group.get("pending") == 0 and waiting == 0


def counters_against_rows(redis, psql):
    """Each live `pw:ch:{mint}:{hour}` hash against the swap rows of its mint and hour (the rows
    equal the feed's ledger, checked first). A live hash must match its rows exactly: one more is a
    double count, one less a loss. A (mint, hour) with rows but no hash is a loss unless the hash
    may have expired: its last row was written more than the TTL (plus a minute's slack) ago."""
    flat = redis("EVAL", COUNTS_BY_HASH, 0)
    live = {}
    for k, v in zip(flat[::2], flat[1::2]):
        mint, hour = k.decode()[len("pw:ch:"):].rsplit(":", 1)
        live[(mint, int(hour))] = int(v)
    now = int(redis("TIME")[0])
    rows = {}
    for mint, hour, n, last in psql("SELECT base_mint, block_time / 3600, count(*), "
                                    "extract(epoch FROM max(created_at))::bigint "
                                    "FROM swap_events GROUP BY 1, 2"):
        rows[(mint, int(hour))] = (int(n), int(last))
    wrong, lost, extra, expired, expired_swaps = [], [], [], 0, 0
    for key, counted in live.items():
        n = rows.get(key, (0, 0))[0]
        if n == 0:
            extra.append((key, counted))
        elif counted != n:
            wrong.append((key, counted, n))
    for key, (n, last) in rows.items():
        if key in live:
            continue
        if last + COUNTER_TTL_SECS + 60 < now:
            expired += 1
            expired_swaps += n
        else:
            lost.append((key, n))
    checked = sum(live.values())
    ok = not wrong and not lost and not extra
    detail = (f"{len(live)} live pw:ch hashes hold {checked} buys+sells, each equal to its "
              f"(mint, hour)'s swap rows; {expired} hashes ({expired_swaps} swaps) expired by "
              f"their {COUNTER_TTL_SECS:.0f} s TTL, all last written over the TTL ago")
    if not ok:
        sample = (wrong[:3], lost[:3], extra[:3])
        detail = (f"{len(wrong)} hashes differ from their rows, {len(lost)} missing though "
                  f"written within the TTL, {len(extra)} without rows (first of each: {sample}); "
                  + detail)
    return ok, detail


def key_census(redis):
    """Every key, by family: count, keys without a TTL, the largest TTL left, memory (MB)."""
    cursor, fam = "0", {}
    while True:
        page = redis("EVAL", CENSUS_PAGE, 0, cursor, timeout=60.0)
        cursor = page[0].decode() if isinstance(page[0], bytes) else str(page[0])
        rest = page[1:]
        for i in range(0, len(rest), 5):
            f = rest[i].decode()
            n, no_ttl, ttl, mem = (int(x) for x in rest[i + 1:i + 5])
            e = fam.setdefault(f, [0, 0, -1, 0])
            e[0] += n
            e[1] += no_ttl
            e[2] = max(e[2], ttl)
            e[3] += mem
        if cursor == "0":
            return fam


def census_verdict(fam):
    """Bounded by design: nothing outside the fixed singletons and streams lives for ever, and no
    rolling key carries a TTL longer than its window. With that, used_memory is bounded by the
    rate × the windows, whatever the run length, which a slope over a run shorter than the fill
    horizon cannot show."""
    forever = {f: e[1] for f, e in fam.items() if e[1] and f not in NO_TTL_FAMILIES}
    too_long = {f: e[2] for f, e in fam.items()
                if f in FAMILY_TTL_BOUND and e[2] > FAMILY_TTL_BOUND[f] + 60}
    ok = not forever and not too_long
    total = sum(e[3] for e in fam.values()) / 1e6
    detail = (f"{sum(e[0] for e in fam.values())} keys in {len(fam)} families, {total:.0f} MB; "
              f"keys without a TTL only in {sorted(f for f, e in fam.items() if e[1])}")
    if not ok:
        detail = f"without a TTL: {forever}; TTL over the window: {too_long}; " + detail
    return ok, detail


def fill_horizon(psql, start_wall):
    """Seconds from the run's start after which Redis is in its periodic steady state. Counter
    hashes are per chain-time hour and live COUNTER_TTL after their last write, so the first hour
    that starts inside the run is full only at its end and gone a TTL later; before that, Redis
    grows by design. Chain time runs at wall rate in the soak (its feed), from the first block."""
    first = psql("SELECT min(block_time) FROM swap_events")[0][0]
    to_boundary = (3600 - int(first) % 3600) % 3600 if first else 0
    return start_wall + to_boundary + 3600 + COUNTER_TTL_SECS + 300


def check_and_report(*, out, work, ledger, samples, events, daemons, feed_starts, poison,
                     drained, seconds, rate, redis, psql, plan, outage, sample_secs):
    with open(ledger) as f:
        led = json.load(f)
    checks = []  # (name, ok, detail)

    rows = int(psql("SELECT count(*) FROM swap_events")[0][0])
    sigs = int(psql("SELECT count(DISTINCT signature) FROM swap_events")[0][0])
    checks.append(("swap rows == feed's swaps", rows == led["swaps"],
                   f"{rows} rows / {led['swaps']} swaps in the ledger; {sigs} signatures / "
                   f"{led['swap_transactions']} swap transactions"))
    checks.append(("signatures == feed's swap transactions", sigs == led["swap_transactions"],
                   f"{sigs} / {led['swap_transactions']}"))
    ok_counters, text = counters_against_rows(redis, psql)
    checks.append(("Redis buy+sell counters == swap rows, per (mint, hour) hash", ok_counters,
                   text))
    added = samples[-1].get("entries_added") if samples else None
    dup = (added or 0) - led["distinct_sent"] - len(poison)
    checks.append(("stream entries = distinct sent + replays + poison", dup >= 0,
                   f"{added} entries added = {led['distinct_sent']} distinct transactions + "
                   f"{dup} replayed after restarts + {len(poison)} poison "
                   f"(feed sent {led['sent_total']} updates in all)"))

    dead = redis("XRANGE", "stream:tx:dead", "-", "+")
    dead_data = sorted(dict(zip(e[1][::2], e[1][1::2])).get(b"data", b"") for e in dead)
    reasons = collections.Counter(
        dict(zip(e[1][::2], e[1][1::2])).get(b"reason", b"").decode().split(":")[0] for e in dead)
    checks.append(("dead letters == the poison entries", dead_data == sorted(poison),
                   f"{len(dead)} dead letters ({dict(reasons)}), {len(poison)} poison sent"))

    deliveries = [dict(zip(("alert", "mint", "trigger", "channel", "status", "digest"), r))
                  for r in psql("SELECT a.id, a.mint, a.trigger_name, d.channel, d.status, "
                                "coalesce(d.digest_id::text, '') FROM alerts a "
                                "JOIN alert_deliveries d ON d.alert_id = a.id")]
    digests = [{"id": r[0], "channel": r[1], "alert_count": int(r[2])}
               for r in psql("SELECT id, channel, alert_count FROM alert_digests")]
    alerts = int(psql("SELECT count(*) FROM alerts")[0][0])
    by = collections.Counter((d["channel"], d["status"]) for d in deliveries)
    settled = all(d["status"] in ("sent", "coalesced") for d in deliveries)
    checks.append(("every alert sent or coalesced on both channels",
                   settled and len(deliveries) == 2 * alerts,
                   f"{alerts} alerts, {len(deliveries)} deliveries: "
                   + ", ".join(f"{c} {s} {n}" for (c, s), n in sorted(by.items()))))
    for channel, (ok, text) in witness(work, deliveries, digests).items():
        checks.append((f"{channel}: each alert delivered once (stand-in's log)", ok, text))

    # Memory.
    memory_rows = []
    fault_end = seconds
    for name in daemons:
        segments, current, last_pid = [], [], None
        for s in samples:
            pid, rss = s.get(f"pid_{name}"), num(s.get(f"rss_{name}"))
            if rss is None or pid != last_pid:
                if current:
                    segments.append(current)
                current = []
            if rss is not None and s["t"] <= fault_end:
                current.append((s["t"], rss / 1e6))
            last_pid = pid
        if current:
            segments.append(current)
        longest = max(segments, key=lambda seg: seg[-1][0] - seg[0][0], default=[])
        # A restarted process warms up again (parser caches, allocator arenas, a backlog after
        # the kill): its first RSS_WARMUP_SECS are not judged, so each life is judged on its own.
        pts = after_warmup(longest, min_secs=RSS_WARMUP_SECS)
        slope = slope_per_hour(pts)
        span = (pts[-1][0] - pts[0][0]) if pts else 0
        peak = max((v for seg in segments for _, v in seg), default=0)
        # Under 10 minutes of one life, a slope is start-up noise: reported, not judged (None).
        ok = None if span < MIN_JUDGED_SECS else (slope is not None and slope <= RSS_SLOPE_MB_H)
        memory_rows.append((name, peak, slope, span, len(segments)))
        checks.append((f"RSS {name} flat (≤ {RSS_SLOPE_MB_H:g} MB/h)", ok,
                       f"slope {slope:+.1f} MB/h over {span / 60:.1f} min of its longest life "
                       f"(of {len(segments)}), peak {peak:.1f} MB" if slope is not None
                       else "too few samples"))
    all_redis = [(s["t"], num(s.get("redis_used_memory")) / 1e6) for s in samples
                 if num(s.get("redis_used_memory")) is not None and s["t"] <= fault_end]
    redis_pts = after_warmup(all_redis)
    # Level: never above the budget at this rate (judged on runs of any length).
    budget = REDIS_BASE_MB + REDIS_BUDGET_MB_PER_1K * max(rate, 1) / 1000.0
    redis_peak = max((v for _, v in redis_pts), default=None)
    checks.append((f"Redis used_memory ≤ budget {budget:.0f} MB "
                   f"({REDIS_BUDGET_MB_PER_1K:g} MB per 1k tx/s + {REDIS_BASE_MB:g})",
                   None if redis_peak is None else redis_peak <= budget,
                   f"peak {redis_peak:.1f} MB after warm-up" if redis_peak is not None
                   else "no samples"))
    # Slope: only after the fill horizon. Before it Redis grows by design (≈ 550 MB/h per 1k tx/s
    # measured); after it a flat Redis has slope ≈ 0, and the bound (25 MB/h per 1k tx/s, ≈ 4.5% of
    # the fill rate) is below what the smallest per-minute key family left without a TTL would add
    # (pw:hs:* ≈ 6.5% of the per-minute memory, ≈ 36 MB/h per 1k tx/s), so such a leak fails it;
    # a stream-backlog swing (≈ 3 KB × entries held during a reclaim, for a minute or two) moves a
    # least-squares slope over ≥ 10 min far less.
    horizon = fill_horizon(psql, all_redis[0][0] if all_redis else 0)
    settled = [p for p in redis_pts if p[0] >= horizon]
    redis_slope = slope_per_hour(settled) if settled else slope_per_hour(redis_pts)
    redis_bound = REDIS_SLOPE_MB_H or 25.0 * max(rate, 1) / 1000.0
    redis_span = (settled[-1][0] - settled[0][0]) if settled else 0
    judged = redis_span >= MIN_JUDGED_SECS and redis_slope is not None
    checks.append((f"Redis used_memory flat after the TTL horizon (slope ≤ {redis_bound:g} MB/h)",
                   (redis_slope <= redis_bound) if judged else None,
                   (f"slope {redis_slope:+.1f} MB/h over {redis_span / 60:.1f} min after "
                    f"{horizon / 60:.0f} min" if judged else
                    f"not judged: the run ends before the {horizon / 60:.0f}-min fill horizon; "
                    f"slope while filling {redis_slope:+.1f} MB/h"
                    if redis_slope is not None else "too few samples")))
    census = key_census(redis)
    ok_census, text = census_verdict(census)
    checks.append(("Redis keys bounded: no key without a TTL but the fixed ones, no TTL over "
                   "its window", ok_census, text))
    if not drained and nothing_left(redis, psql):
        # Runs before the lag fix watched Redis's own lag, which stays wrong after a Redis crash:
        # they never saw the drain. The final state, read once the daemons have stopped, decides.
        drained = True
        # Events are (seconds, text) pairs, as soak.py's event() records them.
        events.append((samples[-1]["t"] if samples else 0,
                       "drained (judged from the final state: nothing undelivered, "
                       "nothing pending, nothing waiting)"))
    checks.append(("drained at the end", drained, "group lag 0, pending 0, nothing waiting"
                   if drained else "something was still moving or waiting"))

    plots = draw(out, samples, events, list(daemons))
    ok = all(c[1] is not False for c in checks)
    write_report(out, ok, checks, led, events, daemons, feed_starts, seconds, rate, plan,
                 outage, memory_rows, plots, sample_secs, census)
    with open(os.path.join(out, "checks.json"), "w") as f:
        json.dump({"ok": ok, "checks": [{"name": n, "ok": o, "detail": d}
                                        for n, o, d in checks]}, f, indent=1)
    for n, o, d in checks:
        print(f"{verdict(o):<5} {n}: {d}")
    print(f"report: {os.path.join(out, 'report.md')}")
    return ok


def verdict(ok):
    """PASS / FAIL for a judged check; info for one reported but not judged (ok is None)."""
    return "info" if ok is None else ("PASS" if ok else "FAIL")


def draw(out, samples, events, names):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    t = [s["t"] / 60 for s in samples]

    def series(key, scale=1.0):
        return [num(s.get(key)) / scale if num(s.get(key)) is not None else float("nan")
                for s in samples]

    def rate_of(key):
        out_, prev = [], None
        for s in samples:
            v = num(s.get(key))
            if v is None or prev is None or s["t"] == prev[0] or v < prev[1]:
                out_.append(float("nan"))
            else:
                out_.append((v - prev[1]) / (s["t"] - prev[0]))
            if v is not None:
                prev = (s["t"], v)
        return out_

    fig, axes = plt.subplots(3, 2, figsize=(14, 11), sharex=True)
    ax = axes[0][0]
    ax.plot(t, rate_of("ledger_sent"), label="feed (distinct sent)")
    ax.plot(t, rate_of("entries_added"), label="stream entries added", alpha=0.7)
    ax.set_title("tx/s")
    ax.legend()
    ax = axes[0][1]
    ax.plot(t, series("group_lag"), label="group lag")
    ax.plot(t, series("pending"), label="pending")
    ax.set_title("group lag and pending entries")
    ax.legend()
    ax = axes[1][0]
    for n in names:
        ax.plot(t, series(f"rss_{n}", 1e6), label=n)
    ax.set_title("RSS per process (MB)")
    ax.legend()
    ax = axes[1][1]
    ax.plot(t, series("redis_used_memory", 1e6))
    ax.set_title("Redis used_memory (MB)")
    ax = axes[2][0]
    for key in ("alerts", "delivered", "coalesced", "waiting"):
        ax.plot(t, series(key), label=key if key != "alerts" else "alerts created")
    ax.set_title("alerts (deliveries: both channels)")
    ax.legend()
    ax = axes[2][1]
    ax.plot(t, series("swap_rows"))
    ax.set_title("swap_events rows")
    for row in axes:
        for a in row:
            for at, text in events:
                if text.startswith("fault:"):
                    a.axvline(at / 60, color="red", alpha=0.25, lw=1)
            a.grid(alpha=0.3)
    for a in axes[2]:
        a.set_xlabel("minutes (red lines: faults)")
    fig.tight_layout()
    path = os.path.join(out, "soak.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return ["soak.png"]


def write_report(out, ok, checks, led, events, daemons, feed_starts, seconds, rate, plan, outage,
                 memory_rows, plots, sample_secs, census=None):
    lines = [f"# Soak report: {'PASS' if ok else 'FAIL'}", "",
             f"{seconds / 60:.1f} min at {rate} tx/s (feed: {led['distinct_sent']} distinct "
             f"transactions, {led['swaps']} swaps in {led['swap_transactions']} transactions, "
             f"{led['filtered']} without swaps); samples every {sample_secs:g} s.", "",
             "| check | result | detail |", "|---|---|---|"]
    for n, o, d in checks:
        lines.append(f"| {n} | {'**FAIL**' if o is False else verdict(o)} | {d} |")
    lines += ["", "## Memory", "", "| process | peak RSS MB | slope MB/h (longest life, after "
              "warm-up) | span min | lives |", "|---|---:|---:|---:|---:|"]
    for name, peak, slope, span, lives in memory_rows:
        lines.append(f"| {name} | {peak:.1f} | {'' if slope is None else f'{slope:+.1f}'} | "
                     f"{span / 60:.1f} | {lives} |")
    if census:
        lines += ["", "## Redis keys at the end, by family", "",
                  "| family | keys | without TTL | largest TTL left s | MB | bytes per key |",
                  "|---|---:|---:|---:|---:|---:|"]
        for f, (n, no_ttl, ttl, mem) in sorted(census.items(), key=lambda kv: -kv[1][3]):
            lines.append(f"| `{f}` | {n} | {no_ttl} | {ttl if ttl >= 0 else ''} | "
                         f"{mem / 1e6:.1f} | {mem // max(n, 1)} |")
    lines += ["", "## Faults and restarts", "",
              f"Plan: {len(plan)} faults ({collections.Counter(w for _, w in plan)}), feed outage "
              f"{outage:.0f} s. Starts per process: "
              + ", ".join(f"{n} {s}" for n, s in daemons.items()) + f", feed {feed_starts}.", ""]
    lines += [f"- {at / 60:6.2f} min: {text}" for at, text in events]
    for p in plots:
        lines += ["", f"![{p}]({p})"]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
