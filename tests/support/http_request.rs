//! The HTTP framing the JSON-RPC stand-ins share: one request per connection, its body found by
//! `Content-Length`. Real HTTP on a real socket, so the daemon's client is exercised as in
//! production; nothing beyond what the stand-ins need (no chunked bodies, no keep-alive).

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;

/// The body of the request on `stream`, and the stream to answer on; `None` when the client
/// closed before a whole request arrived.
pub fn read_request(stream: TcpStream) -> Option<(Vec<u8>, TcpStream)> {
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some((body, reader.into_inner()))
}
