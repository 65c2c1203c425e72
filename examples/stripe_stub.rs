//! A Stripe stand-in for `just bench`, on loopback only.
//!
//! A Stripe webhook is not trusted for its contents: Skillpay re-reads the
//! PaymentIntent (`GET /v1/payment_intents/{id}`) before it completes a
//! payment. Under load that read must cost next to nothing, or the
//! benchmark measures this stand-in instead of Skillpay: on the bench's
//! two cores a Python asyncio version took 5 % of all CPU in the webhook
//! scenario, CPU that real Stripe never takes from the server. localstripe,
//! which the test suite uses, is stateful and far too slow for this. This
//! answers from no state at all:
//!
//! - `POST /v1/payment_intents`: a new intent, `requires_payment_method`;
//! - `GET /v1/payment_intents/{id}`: that intent, `succeeded`;
//! - anything else: 404 in Stripe's error shape.
//!
//! Usage: `stripe_stub PORT` (prints `ready` once it listens). One thread
//! per connection: the server's HTTP client keeps a few connections alive.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const NOT_FOUND: &str = r#"{"error":{"type":"invalid_request_error","code":"resource_missing"}}"#;

static NEXT_INTENT: AtomicU64 = AtomicU64::new(1);

fn main() -> io::Result<()> {
    let Some(port) = std::env::args().nth(1).and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: stripe_stub PORT");
        std::process::exit(2);
    };
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    println!("ready");
    io::stdout().flush()?;
    // Intent ids stay unique across restarts of the stand-in within a run.
    let started = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            // A connection closed mid-request is the client's business.
            let _ = serve(stream, started);
        });
    }
    Ok(())
}

/// Answers requests on one keep-alive connection until the client closes it.
fn serve(stream: TcpStream, started: u64) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut words = line.split_whitespace();
        let method = words.next().unwrap_or_default().to_owned();
        let path = words.next().unwrap_or_default().split('?').next().unwrap_or_default().to_owned();
        let mut length = 0;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.trim().eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        // The body (a form-encoded intent) is not needed: read past it.
        io::copy(&mut (&mut reader).take(length), &mut io::sink())?;
        let (status, body) = route(&method, &path, started);
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        writer.write_all(response.as_bytes())?;
    }
}

fn route(method: &str, path: &str, started: u64) -> (&'static str, String) {
    if method == "POST" && path == "/v1/payment_intents" {
        let id = format!("pi_{started:x}{:016x}", NEXT_INTENT.fetch_add(1, Ordering::Relaxed));
        let body = format!(
            r#"{{"id":"{id}","object":"payment_intent","status":"requires_payment_method","client_secret":"{id}_secret_bench"}}"#
        );
        return ("200 OK", body);
    }
    if let Some(id) = path.strip_prefix("/v1/payment_intents/") {
        // Ids are echoed into JSON: only Stripe's id characters are.
        if method == "GET" && !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return ("200 OK", format!(r#"{{"id":"{id}","object":"payment_intent","status":"succeeded"}}"#));
        }
    }
    ("404 Not Found", NOT_FOUND.to_owned())
}
