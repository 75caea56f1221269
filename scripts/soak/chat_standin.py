#!/usr/bin/env python3
"""Discord webhook and Telegram Bot API stand-ins for the soak test (scripts/soak.sh).

Why a separate small Python server rather than the Rust test stand-ins: the soak runs the real
binaries from a shell script for an hour, and tests/support/fake_chat.rs lives inside the test
crate. This one records every request as a JSON line (path, body, the status it answered) in LOG,
and answers like the real service: Discord 204, Telegram {"ok": true, ...}; now and then (seeded,
so a run can be repeated) a 429 with retry_after, or a 500/502/503.

  chat_standin.py --port PORT --log FILE [--seed N] [--p429 0.03] [--p5xx 0.03]

The request log is the witness of the soak's "delivered exactly once" check: only requests
answered 2xx count as delivered.
"""
import argparse
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--p429", type=float, default=0.03)
    ap.add_argument("--p5xx", type=float, default=0.03)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    lock = threading.Lock()
    log = open(args.log, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):  # quiet: the JSON log is the record
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            telegram = "/sendMessage" in self.path
            with lock:
                r = rng.random()
            if r < args.p429:
                status = 429
                retry = round(0.5 + r * 10, 2)
                if telegram:
                    body = {"ok": False, "error_code": 429,
                            "description": "Too Many Requests: retry after 1",
                            "parameters": {"retry_after": 1}}
                else:
                    body = {"message": "You are being rate limited.", "retry_after": retry,
                            "global": False}
            elif r < args.p429 + args.p5xx:
                status = rng.choice([500, 502, 503])
                body = {"ok": False, "error_code": status, "description": "stand-in outage"} \
                    if telegram else {"message": "stand-in outage", "code": 0}
            else:
                status = 200 if telegram else 204
                body = {"ok": True, "result": {"message_id": int(time.time() * 1000) % 10**9}} \
                    if telegram else None
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
            # The path of a Telegram request holds the bot token: record only the method.
            with lock:
                log.write(json.dumps({"t": time.time(), "channel": "telegram" if telegram
                                      else "discord", "status": status, "body": parsed}) + "\n")
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if status == 429 and not telegram:
                self.send_header("Retry-After", str(int(body["retry_after"]) + 1))
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
