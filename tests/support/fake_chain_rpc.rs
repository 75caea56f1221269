//! A real HTTP server on loopback standing in for a Solana JSON-RPC provider's history methods:
//! `getSignaturesForAddress` (pages of 1,000, newest first, `before`) and `getTransaction`, single
//! calls or JSON-RPC batch arrays. Funding transactions are the real mainnet SOL transfer
//! (tests/fixtures/mainnet/mm_native_sol_transfer.json) with our chosen sender, receiver,
//! signature and block time. Counts HTTP requests and calls; can answer an error status for the
//! next N requests, answer slowly, answer garbage for one wallet, or hold every signature-list
//! request until released (a trace that outlives the alert's latency budget, deterministically).

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use pocketwatcher::domain::{Pubkey, Signature};
use serde_json::{json, Value};

const TRANSFER: &str = include_str!("../fixtures/mainnet/mm_native_sol_transfer.json");

#[derive(Default)]
struct Chain {
    /// wallet → its signatures, newest first.
    histories: HashMap<String, Vec<String>>,
    /// signature → getTransaction result.
    transactions: HashMap<String, Value>,
    /// Every call: (method, first param, options).
    calls: Vec<(String, String, Value)>,
    http_requests: usize,
    /// Answer this status to the next `.1` HTTP requests.
    failing: Option<(u16, usize)>,
    delay: Duration,
    /// getSignaturesForAddress for this wallet answers a non-array.
    malformed: Option<String>,
    next_sig: u64,
    /// Requests waiting at the gate.
    held: usize,
}

/// While true, requests carrying `getSignaturesForAddress` wait (other methods are answered).
type Gate = Arc<(Mutex<bool>, Condvar)>;

pub struct FakeChainRpc {
    addr: std::net::SocketAddr,
    chain: Arc<Mutex<Chain>>,
    gate: Gate,
}

impl FakeChainRpc {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let chain = Arc::new(Mutex::new(Chain::default()));
        let gate: Gate = Arc::new((Mutex::new(false), Condvar::new()));
        let (shared, shared_gate) = (chain.clone(), gate.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (chain, gate) = (shared.clone(), shared_gate.clone());
                std::thread::spawn(move || serve(stream, &chain, &gate));
            }
        });
        FakeChainRpc { addr, chain, gate }
    }

    /// Signature-list requests wait from now on until [`FakeChainRpc::release_histories`].
    pub fn hold_histories(&self) {
        *self.gate.0.lock().unwrap() = true;
    }

    pub fn release_histories(&self) {
        *self.gate.0.lock().unwrap() = false;
        self.gate.1.notify_all();
    }

    /// Signature-list requests waiting at the gate.
    pub fn held(&self) -> usize {
        self.chain.lock().unwrap().held
    }

    pub fn url(&self) -> String {
        format!("http://{}/?api-key=chain-secret", self.addr)
    }

    fn signature(c: &mut Chain) -> String {
        c.next_sig += 1;
        let mut bytes = [7u8; 64];
        bytes[..8].copy_from_slice(&c.next_sig.to_le_bytes());
        Signature(bytes).to_base58()
    }

    /// `funder` sends `wallet` its first SOL at `at`: the real transfer with our keys. Returns the
    /// signature. The transfer becomes the oldest entry of `wallet`'s history and the newest of
    /// `funder`'s.
    pub fn fund(&self, funder: &Pubkey, wallet: &Pubkey, at: i64) -> String {
        let mut c = self.chain.lock().unwrap();
        let sig = Self::signature(&mut c);
        let mut tx: Value = serde_json::from_str(TRANSFER).unwrap();
        let result = &mut tx["result"];
        result["blockTime"] = json!(at);
        result["transaction"]["signatures"] = json!([sig]);
        result["transaction"]["message"]["accountKeys"][0] = json!(funder.to_base58());
        result["transaction"]["message"]["accountKeys"][1] = json!(wallet.to_base58());
        c.transactions.insert(sig.clone(), result.clone());
        c.histories
            .entry(wallet.to_base58())
            .or_default()
            .push(sig.clone());
        c.histories
            .entry(funder.to_base58())
            .or_default()
            .insert(0, sig.clone());
        sig
    }

    /// `from` sends `to` SOL at `at`, after both were funded: the real transfer with our keys,
    /// the newest entry of both histories. Returns the signature.
    pub fn transfer(&self, from: &Pubkey, to: &Pubkey, at: i64) -> String {
        let sig = self.fund(from, to, at);
        let mut c = self.chain.lock().unwrap();
        let h = c.histories.entry(to.to_base58()).or_default();
        h.retain(|s| *s != sig);
        h.insert(0, sig.clone());
        sig
    }

    /// `n` later (newer) signatures of `wallet` (its trading, say).
    pub fn add_activity(&self, wallet: &Pubkey, n: usize) {
        let mut c = self.chain.lock().unwrap();
        let sigs: Vec<String> = (0..n).map(|_| Self::signature(&mut c)).collect();
        let h = c.histories.entry(wallet.to_base58()).or_default();
        for s in sigs {
            h.insert(0, s);
        }
    }

    pub fn fail_next(&self, status: u16, requests: usize) {
        self.chain.lock().unwrap().failing = Some((status, requests));
    }

    pub fn set_delay(&self, delay: Duration) {
        self.chain.lock().unwrap().delay = delay;
    }

    pub fn malformed_for(&self, wallet: &Pubkey) {
        self.chain.lock().unwrap().malformed = Some(wallet.to_base58());
    }

    /// Every call so far: (method, first param, options).
    pub fn calls(&self) -> Vec<(String, String, Value)> {
        self.chain.lock().unwrap().calls.clone()
    }

    pub fn calls_of(&self, method: &str) -> usize {
        self.calls().iter().filter(|c| c.0 == method).count()
    }

    pub fn http_requests(&self) -> usize {
        self.chain.lock().unwrap().http_requests
    }
}

fn answer(c: &mut Chain, call: &Value) -> Value {
    let id = call["id"].clone();
    let method = call["method"].as_str().unwrap_or("").to_string();
    let first = call["params"][0].as_str().unwrap_or("").to_string();
    let opts = call["params"][1].clone();
    c.calls.push((method.clone(), first.clone(), opts.clone()));
    match method.as_str() {
        "getSignaturesForAddress" => {
            if c.malformed.as_deref() == Some(first.as_str()) {
                return json!({"jsonrpc": "2.0", "id": id, "result": {"unexpected": [1, 2]}});
            }
            let history = c.histories.get(&first).cloned().unwrap_or_default();
            let start = match opts["before"].as_str() {
                Some(b) => history
                    .iter()
                    .position(|s| s == b)
                    .map_or(history.len(), |p| p + 1),
                None => 0,
            };
            let limit = opts["limit"].as_u64().unwrap_or(1000).min(1000) as usize;
            let page: Vec<Value> = history[start..]
                .iter()
                .take(limit)
                .map(|s| {
                    json!({"signature": s, "slot": 1, "err": null, "memo": null,
                                "blockTime": 1, "confirmationStatus": "finalized"})
                })
                .collect();
            json!({"jsonrpc": "2.0", "id": id, "result": page})
        }
        "getTransaction" => {
            let result = c.transactions.get(&first).cloned().unwrap_or(Value::Null);
            json!({"jsonrpc": "2.0", "id": id, "result": result})
        }
        _ => json!({"jsonrpc": "2.0", "id": id,
                    "error": {"code": -32601, "message": "Method not found"}}),
    }
}

fn serve(stream: std::net::TcpStream, chain: &Mutex<Chain>, gate: &(Mutex<bool>, Condvar)) {
    let Some((body, mut stream)) = super::http_request::read_request(stream) else {
        return;
    };
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    if String::from_utf8_lossy(&body).contains("getSignaturesForAddress") {
        let mut closed = gate.0.lock().unwrap();
        if *closed {
            chain.lock().unwrap().held += 1;
            while *closed {
                closed = gate.1.wait(closed).unwrap();
            }
            chain.lock().unwrap().held -= 1;
        }
    }
    let delay = chain.lock().unwrap().delay;
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    let (status, reply) = {
        let mut c = chain.lock().unwrap();
        c.http_requests += 1;
        match c.failing {
            Some((status, n)) if n > 0 => {
                c.failing = Some((status, n - 1));
                (
                    status,
                    json!({"jsonrpc": "2.0", "id": null,
                                "error": {"code": -32005, "message": "rate limited"}}),
                )
            }
            _ => match &request {
                Value::Array(calls) => (
                    200,
                    Value::Array(calls.iter().map(|call| answer(&mut c, call)).collect()),
                ),
                call => (200, answer(&mut c, call)),
            },
        }
    };
    let text = reply.to_string();
    let extra = if status == 429 {
        "Retry-After: 0\r\n"
    } else {
        ""
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}
