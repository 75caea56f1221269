//! Real HTTP servers on 127.0.0.1 standing in for a Discord webhook and the Telegram Bot API.
//!
//! Each stand-in runs a small HTTP/1.1 server (keep-alive, `Content-Length` and chunked bodies) on
//! its own thread and tokio runtime, so it works under `#[test]`, `#[tokio::test]` and actix tests
//! alike. Responses come from a scripted queue (status, body, headers, or a hang); when the queue
//! is empty the stand-in answers like the real service does on success. Every request is recorded
//! with its arrival time.
//!
//! ```ignore
//! let discord = FakeDiscord::start();
//! discord.script([Reply::status(500), Reply::discord_429(1.5), Reply::ok()]);
//! config.alerts.discord_webhook_url = Secret::new(discord.url());
//! // ... after sending:
//! let reqs = discord.received();          // Vec<Request>, arrival order
//!
//! let telegram = FakeTelegram::start();
//! config.alerts.telegram_api_base = telegram.api_base();
//! config.alerts.telegram_bot_token = Secret::new(FakeTelegram::TOKEN);
//! let texts = telegram.messages_text();   // rendered plain text of each accepted message
//! ```
//!
//! The Telegram stand-in parses `parse_mode: "MarkdownV2"` the way Telegram does (tdlib's rules:
//! reserved characters outside an entity must be escaped, entities must be closed, link URLs end
//! at an unescaped `)`), answers 400 `can't parse entities` otherwise, and renders the accepted
//! text to plain text. Scripted replies are used only for requests that would otherwise succeed.
//!
//! The Discord stand-in checks the body is a JSON object with `content` or `embeds`, and Discord's
//! embed limits (title 256, description 4096, 25 fields, field name 256 / value 1024, footer 2048,
//! 6000 characters in all), answering 400 like Discord otherwise.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
    /// Never answer (the connection stays open until the stand-in is dropped); the client sees a
    /// timeout.
    pub hang: bool,
}

impl Reply {
    /// `status` with an empty body.
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            body: String::new(),
            headers: Vec::new(),
            hang: false,
        }
    }

    /// `status` with a JSON body.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Reply {
            status,
            body: body.to_string(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            hang: false,
        }
    }

    /// Discord's success answer (204 No Content).
    pub fn ok() -> Self {
        Reply::status(204)
    }

    /// Discord's rate-limit answer: 429 with `retry_after` seconds in the JSON body (and the
    /// `Retry-After` header rounded up, as Discord sends it).
    pub fn discord_429(retry_after_secs: f64) -> Self {
        Reply::json(
            429,
            serde_json::json!({
                "message": "You are being rate limited.",
                "retry_after": retry_after_secs,
                "global": false
            }),
        )
        .header(
            "Retry-After",
            &format!("{}", retry_after_secs.ceil() as u64),
        )
    }

    /// Telegram's rate-limit answer: 429, `ok:false`, `parameters.retry_after` whole seconds.
    pub fn telegram_429(retry_after_secs: u64) -> Self {
        Reply::json(
            429,
            serde_json::json!({
                "ok": false,
                "error_code": 429,
                "description": format!("Too Many Requests: retry after {retry_after_secs}"),
                "parameters": {"retry_after": retry_after_secs}
            }),
        )
    }

    /// Telegram's error shape: `ok:false` with `error_code` = `status`.
    pub fn telegram_error(status: u16, description: &str) -> Self {
        Reply::json(
            status,
            serde_json::json!({"ok": false, "error_code": status, "description": description}),
        )
    }

    /// Never answers.
    pub fn hang() -> Self {
        Reply {
            hang: true,
            ..Reply::status(200)
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
pub struct Request {
    /// When its head arrived.
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The status the stand-in answered (None: it hung).
    pub status: Option<u16>,
}

impl Request {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A message Telegram accepted.
#[derive(Debug, Clone)]
pub struct TelegramMessage {
    pub token: String,
    pub chat_id: String,
    /// The text as sent (with markup).
    pub raw: String,
    /// What a user sees: markup removed, escapes resolved.
    pub text: String,
    pub parse_mode: Option<String>,
    /// The URLs of inline links, in order.
    pub links: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Discord
// ---------------------------------------------------------------------------------------------

/// A Discord webhook: `POST /api/webhooks/{id}/{token}`.
pub struct FakeDiscord {
    server: Server,
}

impl FakeDiscord {
    /// The token part of [`FakeDiscord::url`], to check that it never leaks.
    pub const TOKEN: &'static str = "fAkEdIsCoRdToKeN-0123456789abcdef";
    pub const WEBHOOK_ID: &'static str = "112233445566778899";

    pub fn start() -> Self {
        let server = Server::start(Arc::new(|state: &mut State, req: &Request| {
            let expected = format!(
                "/api/webhooks/{}/{}",
                FakeDiscord::WEBHOOK_ID,
                FakeDiscord::TOKEN
            );
            let path = req.path.split('?').next().unwrap_or("");
            if req.method != "POST" {
                return Reply::json(
                    405,
                    serde_json::json!({"message": "405: Method Not Allowed", "code": 0}),
                );
            }
            if path != expected {
                return Reply::json(
                    401,
                    serde_json::json!({"message": "Invalid Webhook Token", "code": 50027}),
                );
            }
            if let Err(problem) = validate_discord(&req.body) {
                return Reply::json(400, problem);
            }
            state.script.pop_front().unwrap_or_else(Reply::ok)
        }));
        FakeDiscord { server }
    }

    /// The webhook URL (holds [`FakeDiscord::TOKEN`]).
    pub fn url(&self) -> String {
        format!(
            "http://{}/api/webhooks/{}/{}",
            self.server.addr,
            FakeDiscord::WEBHOOK_ID,
            FakeDiscord::TOKEN
        )
    }

    /// Appends answers for the next valid requests (then 204 again).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.server.script(replies)
    }

    pub fn received(&self) -> Vec<Request> {
        self.server.received()
    }

    /// Requests answered with a 2xx.
    pub fn delivered(&self) -> Vec<Request> {
        self.received()
            .into_iter()
            .filter(|r| r.status.is_some_and(|s| (200..300).contains(&s)))
            .collect()
    }
}

fn validate_discord(body: &str) -> Result<(), serde_json::Value> {
    let bad = |key: &str, msg: &str| {
        Err(serde_json::json!({
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": {key: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": msg}]}}
        }))
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return Err(
            serde_json::json!({"message": "The request body contains invalid JSON.", "code": 50109}),
        );
    };
    let Some(obj) = value.as_object() else {
        return bad("body", "not an object");
    };
    let content = obj.get("content").and_then(|c| c.as_str()).unwrap_or("");
    let embeds = obj.get("embeds").and_then(|e| e.as_array());
    if content.is_empty() && embeds.is_none_or(|e| e.is_empty()) {
        return Err(serde_json::json!({"message": "Cannot send an empty message", "code": 50006}));
    }
    if content.chars().count() > 2000 {
        return bad("content", "Must be 2000 or fewer in length.");
    }
    let len =
        |v: Option<&serde_json::Value>| v.and_then(|s| s.as_str()).map_or(0, |s| s.chars().count());
    for embed in embeds.into_iter().flatten() {
        let mut total = 0;
        let title = len(embed.get("title"));
        let description = len(embed.get("description"));
        let footer = len(embed.get("footer").and_then(|f| f.get("text")));
        if title > 256 {
            return bad("embeds.0.title", "Must be 256 or fewer in length.");
        }
        if description > 4096 {
            return bad("embeds.0.description", "Must be 4096 or fewer in length.");
        }
        if footer > 2048 {
            return bad("embeds.0.footer.text", "Must be 2048 or fewer in length.");
        }
        if embed.get("color").is_some_and(|c| !c.is_u64()) {
            return bad("embeds.0.color", "Value is not int.");
        }
        if let Some(ts) = embed.get("timestamp") {
            let ok = ts
                .as_str()
                .is_some_and(|t| t.len() >= 20 && t.as_bytes()[10] == b'T');
            if !ok {
                return bad("embeds.0.timestamp", "Could not parse timestamp.");
            }
        }
        total += title + description + footer;
        let fields = embed.get("fields").and_then(|f| f.as_array());
        if fields.is_some_and(|f| f.len() > 25) {
            return bad("embeds.0.fields", "Must be 25 or fewer in length.");
        }
        for field in fields.into_iter().flatten() {
            let name = len(field.get("name"));
            let value = len(field.get("value"));
            if name == 0 || value == 0 {
                return bad("embeds.0.fields", "This field is required");
            }
            if name > 256 {
                return bad("embeds.0.fields.name", "Must be 256 or fewer in length.");
            }
            if value > 1024 {
                return bad("embeds.0.fields.value", "Must be 1024 or fewer in length.");
            }
            total += name + value;
        }
        if total > 6000 {
            return bad("embeds", "Embed size exceeds maximum size of 6000");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Telegram
// ---------------------------------------------------------------------------------------------

/// The Telegram Bot API: `POST /bot{token}/sendMessage`.
pub struct FakeTelegram {
    server: Server,
}

impl FakeTelegram {
    /// A token the tests can configure (any token is accepted).
    pub const TOKEN: &'static str = "123456789:AAfAkEtElEgRaMtOkEn_0123456789abcdef";
    pub const CHAT_ID: &'static str = "-1001234567890";

    pub fn start() -> Self {
        let server = Server::start(Arc::new(|state: &mut State, req: &Request| {
            let path = req.path.split('?').next().unwrap_or("");
            let Some(rest) = path.strip_prefix("/bot") else {
                return Reply::telegram_error(404, "Not Found");
            };
            let Some((token, method)) = rest.split_once('/') else {
                return Reply::telegram_error(404, "Not Found");
            };
            if method != "sendMessage" {
                return Reply::telegram_error(404, "Not Found: method not found");
            }
            if req.method != "POST" && req.method != "GET" {
                return Reply::telegram_error(405, "Method Not Allowed");
            }
            let body = req.json();
            let chat_id = match body.get("chat_id") {
                Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                _ => return Reply::telegram_error(400, "Bad Request: chat_id is empty"),
            };
            let Some(raw) = body.get("text").and_then(|t| t.as_str()) else {
                return Reply::telegram_error(400, "Bad Request: message text is empty");
            };
            let parse_mode = body
                .get("parse_mode")
                .and_then(|p| p.as_str())
                .map(str::to_string);
            let rendered = match parse_mode.as_deref() {
                None | Some("") => Ok(Rendered {
                    text: raw.to_string(),
                    links: Vec::new(),
                }),
                Some("MarkdownV2") => parse_markdown_v2(raw),
                Some(other) => {
                    return Reply::telegram_error(
                        400,
                        &format!("Bad Request: unsupported parse_mode {other:?} in this stand-in"),
                    )
                }
            };
            let rendered = match rendered {
                Ok(r) => r,
                Err(e) => {
                    return Reply::telegram_error(
                        400,
                        &format!("Bad Request: can't parse entities: {e}"),
                    )
                }
            };
            if rendered.text.trim().is_empty() {
                return Reply::telegram_error(400, "Bad Request: message text is empty");
            }
            if rendered.text.encode_utf16().count() > 4096 {
                return Reply::telegram_error(400, "Bad Request: message is too long");
            }
            let reply = state.script.pop_front();
            let succeeded = reply
                .as_ref()
                .is_none_or(|r| !r.hang && (200..300).contains(&r.status));
            if succeeded {
                state.counter += 1;
                state.telegram.push(TelegramMessage {
                    token: token.to_string(),
                    chat_id: chat_id.clone(),
                    raw: raw.to_string(),
                    text: rendered.text.clone(),
                    parse_mode,
                    links: rendered.links,
                });
            }
            reply.unwrap_or_else(|| {
                Reply::json(
                    200,
                    serde_json::json!({
                        "ok": true,
                        "result": {
                            "message_id": state.counter,
                            "chat": {"id": chat_id},
                            "date": 1_700_000_000,
                            "text": rendered.text
                        }
                    }),
                )
            })
        }));
        FakeTelegram { server }
    }

    /// `http://127.0.0.1:PORT` (the config's `telegram_api_base`).
    pub fn api_base(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Appends answers for the next requests whose markup is valid (then success again).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.server.script(replies)
    }

    pub fn received(&self) -> Vec<Request> {
        self.server.received()
    }

    /// Accepted messages, in order.
    pub fn messages(&self) -> Vec<TelegramMessage> {
        self.server.state.lock().unwrap().telegram.clone()
    }

    /// The rendered plain text of every accepted message.
    pub fn messages_text(&self) -> Vec<String> {
        self.messages().into_iter().map(|m| m.text).collect()
    }
}

/// Telegram's rendering of a MarkdownV2 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub links: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Bold,
    Italic,
    Underline,
    Strikethrough,
    Spoiler,
    Code,
    Pre,
    TextUrl,
    Blockquote,
}

impl Entity {
    fn name(self) -> &'static str {
        match self {
            Entity::Bold => "Bold",
            Entity::Italic => "Italic",
            Entity::Underline => "Underline",
            Entity::Strikethrough => "Strikethrough",
            Entity::Spoiler => "Spoiler",
            Entity::Code => "Code",
            Entity::Pre => "Pre",
            Entity::TextUrl => "TextUrl",
            Entity::Blockquote => "Blockquote",
        }
    }
}

/// Parses `text` as Telegram MarkdownV2 (tdlib's `parse_markdown_v2` rules); returns the rendered
/// plain text or Telegram's error message.
pub fn parse_markdown_v2(text: &str) -> Result<Rendered, String> {
    const RESERVED: &[u8] = b"_*[]()~`>#+-=|{}.!";
    let bytes = text.as_bytes();
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut links = Vec::new();
    // (entity, byte offset in the input, start in the output)
    let mut stack: Vec<(Entity, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        // Any character 1..=126 can be escaped everywhere.
        if c == b'\\' && (1..=126).contains(&at(i + 1)) {
            out.push(at(i + 1));
            i += 2;
            continue;
        }
        // A blockquote ends at the end of its line.
        if c == b'\n' && stack.last().is_some_and(|e| e.0 == Entity::Blockquote) {
            stack.pop();
        }
        let in_code = stack
            .last()
            .is_some_and(|e| matches!(e.0, Entity::Code | Entity::Pre));
        let reserved: &[u8] = if in_code { b"`" } else { RESERVED };
        if !reserved.contains(&c) {
            out.push(c);
            i += 1;
            continue;
        }
        let top = stack.last().map(|e| e.0);
        let is_end = match top {
            Some(Entity::Bold) => c == b'*',
            Some(Entity::Italic) => c == b'_' && at(i + 1) != b'_',
            Some(Entity::Underline) => c == b'_' && at(i + 1) == b'_',
            Some(Entity::Strikethrough) => c == b'~',
            Some(Entity::Spoiler) => c == b'|' && at(i + 1) == b'|',
            Some(Entity::Code) => c == b'`',
            Some(Entity::Pre) => c == b'`' && at(i + 1) == b'`' && at(i + 2) == b'`',
            Some(Entity::TextUrl) => c == b']',
            Some(Entity::Blockquote) | None => false,
        };
        let reserved_error = |c: u8| {
            format!(
                "Character '{}' is reserved and must be escaped with the preceding '\\'",
                c as char
            )
        };
        if !is_end {
            let start = i;
            let entity = match c {
                b'_' if at(i + 1) == b'_' => {
                    i += 1;
                    Entity::Underline
                }
                b'_' => Entity::Italic,
                b'*' => Entity::Bold,
                b'~' => Entity::Strikethrough,
                b'|' if at(i + 1) == b'|' => {
                    i += 1;
                    Entity::Spoiler
                }
                b'[' => Entity::TextUrl,
                b'`' if at(i + 1) == b'`' && at(i + 2) == b'`' => {
                    i += 2;
                    // The rest of the opening line is the language.
                    while i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                        i += 1;
                    }
                    Entity::Pre
                }
                b'`' => Entity::Code,
                b'>' if start == 0 || bytes[start - 1] == b'\n' => Entity::Blockquote,
                _ => return Err(reserved_error(c)),
            };
            if stack.iter().any(|e| e.0 == entity) {
                return Err(format!(
                    "Can't find end of {} entity at byte offset {}",
                    entity.name(),
                    stack.iter().find(|e| e.0 == entity).map_or(start, |e| e.1)
                ));
            }
            stack.push((entity, start, out.len()));
            i += 1;
            continue;
        }
        let (entity, _, begin) = stack.pop().expect("an entity is open");
        match entity {
            Entity::Underline | Entity::Spoiler => i += 1,
            Entity::Pre => i += 2,
            Entity::TextUrl => {
                if at(i + 1) == b'(' {
                    i += 2;
                    let url_begin = i;
                    let mut url = Vec::new();
                    while i < bytes.len() && bytes[i] != b')' {
                        if bytes[i] == b'\\' && (1..=126).contains(&at(i + 1)) {
                            url.push(at(i + 1));
                            i += 2;
                            continue;
                        }
                        url.push(bytes[i]);
                        i += 1;
                    }
                    if at(i) != b')' {
                        return Err(format!(
                            "Can't find end of a URL at byte offset {url_begin}"
                        ));
                    }
                    links.push(String::from_utf8_lossy(&url).into_owned());
                } else {
                    links.push(String::from_utf8_lossy(&out[begin..]).into_owned());
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(&(entity, offset, _)) = stack.last() {
        if entity != Entity::Blockquote {
            return Err(format!(
                "Can't find end of {} entity at byte offset {offset}",
                entity.name()
            ));
        }
    }
    let text = String::from_utf8(out).map_err(|_| "Text must be encoded in UTF-8".to_string())?;
    Ok(Rendered { text, links })
}

// ---------------------------------------------------------------------------------------------
// The HTTP/1.1 server both stand-ins run on
// ---------------------------------------------------------------------------------------------

type Handler = Arc<dyn Fn(&mut State, &Request) -> Reply + Send + Sync>;

#[derive(Default)]
pub struct State {
    script: VecDeque<Reply>,
    received: Vec<Request>,
    telegram: Vec<TelegramMessage>,
    counter: u64,
}

struct Server {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Server {
    fn start(handler: Handler) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fake-chat")
            .enable_all()
            .build()
            .expect("fake chat runtime");
        // Bound here (not with block_on) so that starting works inside another runtime too.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("set_nonblocking");
        let addr = listener.local_addr().expect("local_addr");
        let state = Arc::new(Mutex::new(State::default()));
        let accept_state = state.clone();
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).expect("tokio listener");
            while let Ok((stream, _)) = listener.accept().await {
                let (state, handler) = (accept_state.clone(), handler.clone());
                tokio::spawn(async move {
                    let _ = serve_connection(stream, state, handler).await;
                });
            }
        });
        Server {
            addr,
            state,
            runtime: Some(runtime),
        }
    }

    fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    fn received(&self) -> Vec<Request> {
        self.state.lock().unwrap().received.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    state: Arc<Mutex<State>>,
    handler: Handler,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let at = Instant::now();
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).await? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_string(), v.trim().to_string()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size).await?;
                let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                    .unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                reader.read_exact(&mut chunk).await?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
            body = vec![0; len];
            reader.read_exact(&mut body).await?;
        }
        let close = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let mut request = Request {
            at,
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            status: None,
        };
        let reply = {
            let mut guard = state.lock().unwrap();
            let reply = handler(&mut guard, &request);
            request.status = (!reply.hang).then_some(reply.status);
            guard.received.push(request);
            reply
        };
        if reply.hang {
            // Hold the connection until the client gives up or the stand-in is dropped.
            let mut sink = [0u8; 256];
            while reader.read(&mut sink).await? > 0 {}
            return Ok(());
        }
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
            reply.status,
            reason(reply.status),
            reply.body.len()
        );
        for (n, v) in &reply.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        write.write_all(head.as_bytes()).await?;
        write.write_all(reply.body.as_bytes()).await?;
        write.flush().await?;
        if close {
            return Ok(());
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
