//! An open-loop HTTP load generator for `just bench`'s equal-load legs.
//!
//! wrk keeps every connection busy, so its latencies are those of a
//! saturated server: at saturation a side's median is its clients divided
//! by its throughput, whatever the work behind it. To compare the API's
//! latency with its SQL's at the *same* load, both sides are offered the
//! same request rate: pgbench with `--rate` (one thread), the API with
//! this. Like pgbench, arrivals follow one Poisson schedule, each taken by
//! the next free connection, and a request's latency runs from when it was
//! *scheduled*, not sent: a request that waits for a free connection counts
//! that wait, so a slow answer cannot hide the queue behind it.
//!
//! Usage: `paced_load ADDR REQUESTS CONNECTIONS RATE SECONDS OUT`
//! - `REQUESTS`: raw HTTP/1.1 requests, each as a line with its length in
//!   bytes followed by that many bytes; taken in order by whichever
//!   connection is next, and not reused (the run stops early if they run
//!   out, and says so in `exhausted`).
//! - `OUT`: a JSON summary: requests, non-2xx answers, I/O errors,
//!   p50/p99/max latency in microseconds, and every request's latency
//!   (`latencies_us`, sorted), so that runs can be pooled.

// Arrival times are drawn from an exponential distribution; no money here.
#![allow(clippy::float_arithmetic)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Settings {
    addr: String,
    rate: f64,
    end: Instant,
}

/// The shared arrival schedule: the next slot and the next request.
struct Schedule {
    random: Xorshift,
    next_slot: Instant,
    next_request: usize,
}

impl Schedule {
    /// The next slot and its request, unless the run is over.
    fn take(&mut self, settings: &Settings, requests: usize) -> Option<(Instant, usize)> {
        if self.next_slot >= settings.end || self.next_request >= requests {
            return None;
        }
        let taken = (self.next_slot, self.next_request);
        self.next_slot += Duration::from_secs_f64(self.random.exponential(1.0 / settings.rate));
        self.next_request += 1;
        Some(taken)
    }
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    non_2xx: u64,
    io_errors: u64,
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, requests, connections, rate, seconds, out] = args.as_slice() else {
        eprintln!("usage: paced_load ADDR REQUESTS CONNECTIONS RATE SECONDS OUT");
        std::process::exit(2);
    };
    let (Ok(connections), Ok(rate), Ok(seconds)) = (connections.parse(), rate.parse(), seconds.parse()) else {
        eprintln!("paced_load: CONNECTIONS, RATE and SECONDS must be numbers");
        std::process::exit(2);
    };
    let requests = Arc::new(read_requests(requests)?);
    let started = Instant::now();
    let settings = Arc::new(Settings { addr: addr.clone(), rate, end: started + Duration::from_secs(seconds) });
    let mut random = Xorshift::seeded();
    let first = started + Duration::from_secs_f64(random.exponential(1.0 / rate));
    let schedule = Arc::new(Mutex::new(Schedule { random, next_slot: first, next_request: 0 }));
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (settings, requests, schedule) = (settings.clone(), requests.clone(), schedule.clone());
            std::thread::spawn(move || connection(&settings, &requests, &schedule))
        })
        .collect();
    let mut total = Tally::default();
    for worker in workers {
        // A connection thread that died is counted, not silently dropped.
        let tally = worker.join().unwrap_or_else(|_| Tally { io_errors: 1, ..Tally::default() });
        total.latencies_us.extend(tally.latencies_us);
        total.non_2xx += tally.non_2xx;
        total.io_errors += tally.io_errors;
    }
    let elapsed = started.elapsed();
    total.latencies_us.sort_unstable();
    let exhausted = schedule.lock().map(|s| s.next_request >= requests.len()).unwrap_or(true);
    let latencies: Vec<String> = total.latencies_us.iter().map(u64::to_string).collect();
    let summary = format!(
        "{{\"requests\":{},\"duration_us\":{},\"rate\":{},\"p50_us\":{},\"p99_us\":{},\"max_us\":{},\
         \"non_2xx\":{},\"io_errors\":{},\"exhausted\":{},\"latencies_us\":[{}]}}\n",
        total.latencies_us.len(),
        elapsed.as_micros(),
        settings.rate,
        percentile(&total.latencies_us, 50),
        percentile(&total.latencies_us, 99),
        total.latencies_us.last().copied().unwrap_or(0),
        total.non_2xx,
        total.io_errors,
        exhausted,
        latencies.join(","),
    );
    std::fs::write(out, summary)
}

/// One connection's run: the next free slot, one request at a time.
fn connection(settings: &Settings, requests: &[Vec<u8>], schedule: &Mutex<Schedule>) -> Tally {
    let mut tally = Tally::default();
    let mut stream: Option<(TcpStream, BufReader<TcpStream>)> = None;
    loop {
        let Ok(Some((slot, index))) = schedule.lock().map(|mut s| s.take(settings, requests.len())) else { break };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
        match exchange(&mut stream, &settings.addr, &requests[index]) {
            Ok(status) => {
                tally.latencies_us.push(u64::try_from(slot.elapsed().as_micros()).unwrap_or(u64::MAX));
                if !(200..300).contains(&status) {
                    tally.non_2xx += 1;
                }
            }
            Err(_) => {
                tally.io_errors += 1;
                stream = None;
            }
        }
    }
    tally
}

/// Sends `request` on the kept connection (opening one if needed) and reads
/// the whole answer; returns its status.
fn exchange(stream: &mut Option<(TcpStream, BufReader<TcpStream>)>, addr: &str, request: &[u8]) -> io::Result<u16> {
    if stream.is_none() {
        let tcp = TcpStream::connect(addr)?;
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        *stream = Some((tcp.try_clone()?, BufReader::new(tcp)));
    }
    let Some((writer, reader)) = stream.as_mut() else { return Err(io::ErrorKind::NotConnected.into()) };
    writer.write_all(request)?;
    let (status, close) = read_response(reader)?;
    if close {
        *stream = None;
    }
    Ok(status)
}

/// Reads one response (Content-Length or chunked body); returns its status
/// and whether the server closes the connection after it.
fn read_response(reader: &mut BufReader<TcpStream>) -> io::Result<(u16, bool)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or(io::ErrorKind::InvalidData)?;
    let (mut length, mut chunked, mut close) = (0usize, false, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else { continue };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().map_err(|_| io::ErrorKind::InvalidData)?,
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16).map_err(|_| io::ErrorKind::InvalidData)?;
            skip(reader, size + 2)?; // the chunk and its CRLF
            if size == 0 {
                break;
            }
        }
    } else {
        skip(reader, length)?;
    }
    Ok((status, close))
}

fn skip(reader: &mut BufReader<TcpStream>, bytes: usize) -> io::Result<()> {
    let copied = io::copy(&mut reader.by_ref().take(bytes as u64), &mut io::sink())?;
    if copied == bytes as u64 { Ok(()) } else { Err(io::ErrorKind::UnexpectedEof.into()) }
}

fn read_requests(path: &str) -> io::Result<Vec<Vec<u8>>> {
    let mut reader = BufReader::new(std::fs::File::open(path)?);
    let mut requests = Vec::new();
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 {
        let length: usize = line.trim().parse().map_err(|_| io::ErrorKind::InvalidData)?;
        let mut request = vec![0; length];
        reader.read_exact(&mut request)?;
        requests.push(request);
        line.clear();
    }
    Ok(requests)
}

/// The same rank as bench.py's `percentile` (pgbench's side).
fn percentile(sorted: &[u64], pct: usize) -> u64 {
    match sorted.len() {
        0 => 0,
        n => sorted[(n * pct / 100).min(n - 1)],
    }
}

/// A small generator for arrival gaps (not for anything secret).
struct Xorshift(u64);

impl Xorshift {
    fn seeded() -> Self {
        Xorshift(0x9E37_79B9_7F4A_7C15 ^ (u64::from(std::process::id()) << 17))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A gap of mean `mean` seconds.
    fn exponential(&mut self, mean: f64) -> f64 {
        // Uniform in (0, 1]: the top 53 bits, never zero.
        let uniform = ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64;
        -uniform.ln() * mean
    }
}
