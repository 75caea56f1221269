//! A real HTTP server on loopback standing in for a Solana JSON-RPC provider: answers
//! `getTokenSupply` (and DAS `getAsset`) from a table, counts requests, and can fail on demand.

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Table {
    /// mint → (raw amount, decimals)
    supplies: HashMap<String, (String, u8)>,
    /// mint → (name, symbol)
    assets: HashMap<String, (String, String)>,
    /// Every request's method and first param.
    requests: Vec<(String, String)>,
    /// Answer this status (with a JSON-RPC error) instead.
    failing: Option<u16>,
}

pub struct FakeRpc {
    addr: std::net::SocketAddr,
    table: Arc<Mutex<Table>>,
}

impl FakeRpc {
    pub const API_KEY: &'static str = "rpc-secret-key-42";

    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let table = Arc::new(Mutex::new(Table::default()));
        let shared = table.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let table = shared.clone();
                std::thread::spawn(move || serve(stream, &table));
            }
        });
        FakeRpc { addr, table }
    }

    /// The URL, with an API key in the query like real providers.
    pub fn url(&self) -> String {
        format!("http://{}/?api-key={}", self.addr, FakeRpc::API_KEY)
    }

    pub fn set_supply(&self, mint: &str, raw: &str, decimals: u8) {
        let mut t = self.table.lock().unwrap();
        t.supplies.insert(mint.into(), (raw.into(), decimals));
    }

    pub fn set_asset(&self, mint: &str, name: &str, symbol: &str) {
        let mut t = self.table.lock().unwrap();
        t.assets.insert(mint.into(), (name.into(), symbol.into()));
    }

    pub fn fail_with(&self, status: Option<u16>) {
        self.table.lock().unwrap().failing = status;
    }

    /// `(method, first param)` of every request so far.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.table.lock().unwrap().requests.clone()
    }
}

fn serve(stream: std::net::TcpStream, table: &Mutex<Table>) {
    let Some((body, mut stream)) = super::http_request::read_request(stream) else {
        return;
    };
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let method = request["method"].as_str().unwrap_or("").to_string();
    let first = match &request["params"] {
        serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).unwrap_or(""),
        p => p["id"].as_str().unwrap_or(""),
    }
    .to_string();
    let (status, reply) = {
        let mut t = table.lock().unwrap();
        t.requests.push((method.clone(), first.clone()));
        match (t.failing, method.as_str()) {
            (Some(status), _) => (
                status,
                serde_json::json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "unavailable"}}),
            ),
            (None, "getTokenSupply") => match t.supplies.get(&first) {
                Some((raw, decimals)) => (
                    200,
                    serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {
                        "context": {"slot": 1},
                        "value": {"amount": raw, "decimals": decimals, "uiAmountString": "x"}}}),
                ),
                None => (
                    200,
                    serde_json::json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "Invalid param: not a Token mint"}}),
                ),
            },
            (None, "getAsset") => match t.assets.get(&first) {
                Some((name, symbol)) => (
                    200,
                    serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {
                        "content": {"metadata": {"name": name, "symbol": symbol}}}}),
                ),
                None => (
                    200,
                    serde_json::json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "Asset not found"}}),
                ),
            },
            _ => (
                200,
                serde_json::json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "Method not found"}}),
            ),
        }
    };
    let text = reply.to_string();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}
