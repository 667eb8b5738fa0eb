//! A fault proxy in front of localstripe, for the Stripe fault test: the programs' Stripe
//! address points here, every call is forwarded, and then, by a fixed pattern per kind of call,
//! the reply is lost (the connection closes without an answer) or replaced by a 500: the two
//! ways a real Stripe call ends with its outcome unknown. The n-th call of a kind (from 0) is
//! forwarded and then dropped when n % 5 == 0 (20 %), answered 500 when n % 20 == 3 (5 %), so
//! each kind meets both faults as soon as it is called four times.
//!
//! It records every PaymentIntent localstripe created through it, with its order, so that a test
//! also sees the ones whose reply never came back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What happened to the calls of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Forwarded and answered as localstripe answered.
    pub answered: u32,
    /// Forwarded, reply dropped.
    pub dropped: u32,
    /// Forwarded, answered 500.
    pub failed: u32,
}

#[derive(Debug, Default)]
struct Seen {
    calls: BTreeMap<&'static str, Tally>,
    /// (PaymentIntent id, order id from its metadata), in creation order.
    intents: Vec<(String, u64)>,
}

pub struct StripeFaults {
    port: u16,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

enum Fate {
    Answer,
    Drop,
    Fail,
}

impl StripeFaults {
    /// Listens on a free loopback port and forwards to `upstream` (localstripe's base URL).
    pub async fn start(upstream: &str) -> StripeFaults {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the Stripe fault proxy binds a port");
        let port = listener.local_addr().expect("its address").port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let client = reqwest::Client::new();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let shared = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (seen, client, upstream) = (shared.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    serve(socket, &client, &upstream, &seen).await;
                });
            }
        });
        StripeFaults { port, seen, task }
    }

    /// The `STRIPE_API_BASE` that goes through the faults.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Calls by kind: `create`, `confirm` (created and confirmed in one call), `retrieve`,
    /// `capture`, `cancel`, `refund`, `find_refund`, `other`.
    pub fn calls(&self) -> BTreeMap<&'static str, Tally> {
        self.seen.lock().expect("tallies").calls.clone()
    }

    /// Every PaymentIntent created through the proxy for this order, answered or not.
    pub fn intents_of(&self, order_id: u64) -> Vec<String> {
        self.seen
            .lock()
            .expect("intents")
            .intents
            .iter()
            .filter(|(_, o)| *o == order_id)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

impl Drop for StripeFaults {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn kind(method: &str, path: &str, body: &[u8]) -> &'static str {
    let path = path.split('?').next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("POST", ["v1", "payment_intents"]) => {
            let form = String::from_utf8_lossy(body);
            if form.split('&').any(|pair| pair == "confirm=true") {
                "confirm"
            } else {
                "create"
            }
        }
        ("GET", ["v1", "payment_intents", _]) => "retrieve",
        ("POST", ["v1", "payment_intents", _, "capture"]) => "capture",
        ("POST", ["v1", "payment_intents", _, "cancel"]) => "cancel",
        ("POST", ["v1", "refunds"]) => "refund",
        ("GET", ["v1", "refunds"]) => "find_refund",
        _ => "other",
    }
}

/// One client connection: requests one after the other (the Stripe client keeps connections
/// alive) until it closes or a reply is dropped.
async fn serve(
    mut socket: TcpStream,
    client: &reqwest::Client,
    upstream: &str,
    seen: &Mutex<Seen>,
) {
    let mut buffer = Vec::new();
    loop {
        let Some((method, path, headers, body)) = read_request(&mut socket, &mut buffer).await
        else {
            return;
        };
        let kind = kind(&method, &path, &body);
        let fate = {
            let mut seen = seen.lock().expect("tallies");
            let tally = seen.calls.entry(kind).or_default();
            let n = tally.answered + tally.dropped + tally.failed;
            if n.is_multiple_of(5) {
                tally.dropped += 1;
                Fate::Drop
            } else if n % 20 == 3 {
                tally.failed += 1;
                Fate::Fail
            } else {
                tally.answered += 1;
                Fate::Answer
            }
        };
        let mut request = client.request(
            method.parse().expect("an HTTP method"),
            format!("{upstream}{path}"),
        );
        for (name, value) in &headers {
            if !matches!(
                name.as_str(),
                "host" | "connection" | "content-length" | "transfer-encoding"
            ) {
                request = request.header(name, value);
            }
        }
        let answer = request
            .body(body)
            .send()
            .await
            .expect("localstripe answers the proxy");
        let status = answer.status().as_u16();
        let content_type = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_owned();
        let reply = answer.bytes().await.expect("localstripe's reply");
        if matches!(kind, "create" | "confirm")
            && let Ok(intent) = serde_json::from_slice::<Value>(&reply)
            && let (Some(id), Some(order)) = (
                intent["id"].as_str(),
                intent["metadata"]["order_id"]
                    .as_str()
                    .and_then(|o| o.parse().ok()),
            )
        {
            let mut seen = seen.lock().expect("intents");
            if !seen.intents.iter().any(|(known, _)| known == id) {
                seen.intents.push((id.to_owned(), order));
            }
        }
        let (status, content_type, reply) = match fate {
            Fate::Drop => return,
            Fate::Fail => (
                500,
                "application/json".to_owned(),
                br#"{"error":{"type":"api_error","message":"An unknown error occurred"}}"#.to_vec(),
            ),
            Fate::Answer => (status, content_type, reply.to_vec()),
        };
        let head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Unknown"),
            reply.len()
        );
        if socket.write_all(head.as_bytes()).await.is_err()
            || socket.write_all(&reply).await.is_err()
        {
            return;
        }
    }
}

type Request = (String, String, Vec<(String, String)>, Vec<u8>);

/// The next request on the connection, or None once the client closed it.
async fn read_request(socket: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Request> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        if let httparse::Status::Complete(head_len) = parsed
            .parse(buffer)
            .expect("the Stripe client sends valid HTTP")
        {
            let method = parsed.method.unwrap_or("GET").to_owned();
            let path = parsed.path.unwrap_or("/").to_owned();
            let headers: Vec<(String, String)> = parsed
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            assert!(
                !headers
                    .iter()
                    .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")),
                "the proxy reads bodies by Content-Length only"
            );
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
            while buffer.len() < head_len + length {
                if read_more(socket, buffer).await == 0 {
                    return None;
                }
            }
            let body = buffer[head_len..head_len + length].to_vec();
            buffer.drain(..head_len + length);
            return Some((method, path, headers, body));
        }
        if read_more(socket, buffer).await == 0 {
            return None;
        }
    }
}

async fn read_more(socket: &mut TcpStream, buffer: &mut Vec<u8>) -> usize {
    let mut chunk = [0u8; 8192];
    let n = socket.read(&mut chunk).await.unwrap_or(0);
    buffer.extend_from_slice(&chunk[..n]);
    n
}

#[cfg(test)]
mod tests {
    use super::kind;

    #[test]
    fn calls_are_sorted_by_what_they_do_at_stripe() {
        assert_eq!(kind("POST", "/v1/payment_intents", b"amount=100"), "create");
        assert_eq!(
            kind("POST", "/v1/payment_intents", b"amount=100&confirm=true"),
            "confirm"
        );
        assert_eq!(kind("GET", "/v1/payment_intents/pi_1", b""), "retrieve");
        assert_eq!(
            kind("POST", "/v1/payment_intents/pi_1/capture", b""),
            "capture"
        );
        assert_eq!(
            kind("POST", "/v1/payment_intents/pi_1/cancel", b""),
            "cancel"
        );
        assert_eq!(kind("POST", "/v1/refunds", b"amount=1"), "refund");
        assert_eq!(
            kind("GET", "/v1/refunds?payment_intent=pi_1", b""),
            "find_refund"
        );
        assert_eq!(kind("GET", "/v1/events", b""), "other");
    }
}
