//! The load generator: echo requests in four modes, every response verified (exactly one per
//! request, ids matching, a success echoing the request's inputs), with requests/s, latency
//! percentiles and the runner's CPU time per request. `rrq-bench load` measures with it
//! (`./bench.sh`); the `load` suite runs it briefly as a correctness check.

use crate::values::same_value;
use crate::version::{Message, Request, Version};
use crate::wire::Framer;
use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Utc};
use rrq_protocol::outcome::OutcomeStatus;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

/// How requests are sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Mode {
    /// One connection, one request at a time.
    Serial,
    /// 16 connections, one request at a time on each.
    Conns16,
    /// A new connection per request, one request at a time (what RRQ 0.9 does).
    Fresh,
    /// One connection with `window` requests in flight (what RRQ 0.11 does, with window ≤ 64).
    Pipelined,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Serial, Mode::Conns16, Mode::Fresh, Mode::Pipelined];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Serial => "serial",
            Mode::Conns16 => "conns16",
            Mode::Fresh => "fresh",
            Mode::Pipelined => "pipelined",
        }
    }
}

/// The positional and named inputs of the typical request (and of every load request).
pub fn typical_inputs() -> (Value, Value) {
    (
        json!([184467, "customer-7781@example.com", 249.99, true]),
        json!({"currency": "EUR", "items": [{"qty": 2, "sku": "SKU-10442"}], "priority": 5}),
    )
}

/// The typical request of the benchmarks: a 563-byte frame in protocol 1.
pub fn typical_request(
    version: Version,
    job_id: &str,
    request_id: &str,
    function: &str,
    enqueue: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Request {
    let (args, named) = typical_inputs();
    let mut req = Request::new(version, job_id, request_id, function)
        .args(args)
        .named(named)
        .deadline(Some(deadline));
    req.context.attempt = 2;
    req.context.enqueue_time = enqueue;
    req.context.queue_name = "default".to_string();
    req.context.worker_id = Some("worker-1".to_string());
    req
}

/// CPU ticks used so far by every live process of the group `pgid`.
pub fn group_cpu_ticks(pgid: i32) -> u64 {
    let mut total = 0;
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(format!("/proc/{name}/stat")) {
                if let Some((pgrp, cpu)) = parse_stat(&text) {
                    if pgrp == pgid {
                        total += cpu;
                    }
                }
            }
        }
    }
    total
}

/// CPU ticks used so far by this process.
pub fn self_cpu_ticks() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|t| parse_stat(&t))
        .map_or(0, |x| x.1)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
pub fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime+stime (clock ticks) of a /proc/PID/stat line and its process group.
fn parse_stat(text: &str) -> Option<(i32, u64)> {
    // The command name (field 2) may hold spaces: fields after the last ')' are fixed.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] = state (field 3), pgrp = field 5 -> f[2]; utime = field 14 -> f[11]; stime f[12].
    let pgrp = f.get(2)?.parse().ok()?;
    let cpu = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some((pgrp, cpu))
}

/// Request ids as the RRQ orchestrator makes them (random UUIDs, version 4), here from a
/// splitmix64 stream seeded by the slice's tag: unique within a run, the same in every run.
struct Gen {
    version: Version,
    state: u64,
}

impl Gen {
    fn new(version: Version, tag: &str) -> Gen {
        // FNV-1a of the tag seeds the stream.
        let state = tag.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Gen { version, state }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A random (version 4, variant 1) UUID in its canonical text form.
    fn uuid(&mut self) -> String {
        let hi = (self.next_u64() & !0xf000) | 0x4000;
        let lo = (self.next_u64() & !(0b11 << 62)) | (0b10 << 62);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xffff,
            hi & 0xffff,
            lo >> 48,
            lo & 0xffff_ffff_ffff
        )
    }

    fn next(&mut self) -> (String, String, Vec<u8>) {
        let job = self.uuid();
        let rid = self.uuid();
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        let req = typical_request(
            self.version,
            &job,
            &rid,
            "echo",
            now,
            now + chrono::Duration::hours(1),
        );
        (job, rid, self.version.request_frame(&req))
    }
}

/// What `echo` returns for every load request.
pub fn expected_result(version: Version) -> Value {
    let now = crate::version::now();
    version.echo_result(&typical_request(version, "j", "r", "echo", now, now))
}

/// Checks one response body against the pending requests; returns the request's send time.
fn verify(
    version: Version,
    body: &[u8],
    pending: &mut HashMap<String, (String, Instant)>,
    expected: &Value,
) -> Result<Instant> {
    let message = version.decode(body).map_err(|e| {
        anyhow::anyhow!(
            "undecodable response: {e}: {}",
            String::from_utf8_lossy(body)
        )
    })?;
    let Message::Response(payload) = message else {
        bail!("not a response: {}", String::from_utf8_lossy(body))
    };
    let rid = payload
        .request_id
        .as_deref()
        .context("response without request_id")?;
    let Some((job, sent)) = pending.remove(rid) else {
        bail!("response to an unknown or already answered request_id {rid:?}")
    };
    if payload.job_id.as_deref() != Some(job.as_str()) {
        bail!("job_id {:?} does not match {job:?}", payload.job_id);
    }
    if payload.status != OutcomeStatus::Success {
        bail!(
            "status {:?}: {}",
            payload.status,
            String::from_utf8_lossy(body)
        );
    }
    if !payload
        .result
        .as_ref()
        .is_some_and(|r| same_value(r, expected))
    {
        bail!("echo result differs: {}", String::from_utf8_lossy(body));
    }
    Ok(sent)
}

struct Conn {
    stream: TcpStream,
    framer: Framer,
    buf: Vec<u8>,
}

const IO_TIMEOUT: Duration = Duration::from_secs(30);

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Conn> {
        let stream = timeout(IO_TIMEOUT, TcpStream::connect(addr))
            .await
            .context("connect timed out")??;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            framer: Framer::new(),
            buf: vec![0; 64 * 1024],
        })
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        timeout(IO_TIMEOUT, self.stream.write_all(bytes))
            .await
            .context("write timed out")??;
        Ok(())
    }

    /// Reads until at least one whole frame is buffered; returns every buffered body.
    async fn recv_some(&mut self) -> Result<Vec<Vec<u8>>> {
        loop {
            let mut bodies = Vec::new();
            while let Some(b) = self.framer.next_body() {
                bodies.push(b);
            }
            if !bodies.is_empty() {
                return Ok(bodies);
            }
            let n = timeout(IO_TIMEOUT, self.stream.read(&mut self.buf))
                .await
                .context("read timed out")??;
            if n == 0 {
                bail!(
                    "the runner closed the connection ({} bytes of a partial frame)",
                    self.framer.buffered()
                );
            }
            self.framer
                .push(&self.buf[..n])
                .map_err(|e| anyhow::anyhow!("bad frame: {e}"))?;
        }
    }
}

/// Requests and latencies of one slice.
#[derive(Default)]
pub struct Slice {
    pub requests: u64,
    pub latencies_us: Vec<u32>,
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// One request at a time on `conn` (or a fresh connection each time) until `until`.
async fn one_at_a_time(
    addr: SocketAddr,
    fresh: bool,
    until: Instant,
    mut gen: Gen,
    expected: &Value,
) -> Result<Slice> {
    let mut out = Slice::default();
    let mut pending = HashMap::new();
    let mut conn = if fresh {
        None
    } else {
        Some(Conn::open(addr).await?)
    };
    while Instant::now() < until {
        let (job, rid, frame) = gen.next();
        let start = Instant::now();
        let mut c = match conn.take() {
            Some(c) => c,
            None => Conn::open(addr).await?,
        };
        pending.insert(rid, (job, start));
        c.send(&frame).await?;
        let bodies = c.recv_some().await?;
        if bodies.len() != 1 {
            bail!("{} responses to one request", bodies.len());
        }
        verify(gen.version, &bodies[0], &mut pending, expected)?;
        out.latencies_us.push(micros(start.elapsed()));
        out.requests += 1;
        if !fresh {
            conn = Some(c);
        }
    }
    if !pending.is_empty() {
        bail!("{} requests unanswered", pending.len());
    }
    Ok(out)
}

async fn pipelined(
    addr: SocketAddr,
    window: usize,
    until: Instant,
    mut gen: Gen,
    expected: &Value,
) -> Result<Slice> {
    let mut out = Slice::default();
    let mut pending: HashMap<String, (String, Instant)> = HashMap::new();
    let mut conn = Conn::open(addr).await?;
    let mut batch = Vec::new();
    let fill = |n: usize,
                gen: &mut Gen,
                pending: &mut HashMap<String, (String, Instant)>,
                batch: &mut Vec<u8>| {
        batch.clear();
        let now = Instant::now();
        for _ in 0..n {
            let (job, rid, frame) = gen.next();
            pending.insert(rid, (job, now));
            batch.extend_from_slice(&frame);
        }
    };
    fill(window, &mut gen, &mut pending, &mut batch);
    conn.send(&batch).await?;
    while !pending.is_empty() {
        let bodies = conn.recv_some().await?;
        let now = Instant::now();
        for body in &bodies {
            let sent = verify(gen.version, body, &mut pending, expected)?;
            out.latencies_us.push(micros(now - sent));
            out.requests += 1;
        }
        if now < until {
            fill(bodies.len(), &mut gen, &mut pending, &mut batch);
            conn.send(&batch).await?;
        }
    }
    Ok(out)
}

/// Runs `mode` against the runner at `addr` for `dur`, verifying every response.
pub async fn run_slice(
    version: Version,
    mode: Mode,
    addr: SocketAddr,
    dur: Duration,
    window: usize,
    tag: &str,
    expected: &Value,
) -> Result<Slice> {
    let until = Instant::now() + dur;
    let gen = |i: usize| Gen::new(version, &format!("{tag}-c{i}"));
    match mode {
        Mode::Serial => one_at_a_time(addr, false, until, gen(0), expected).await,
        Mode::Fresh => one_at_a_time(addr, true, until, gen(0), expected).await,
        Mode::Pipelined => pipelined(addr, window, until, gen(0), expected).await,
        Mode::Conns16 => {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..16 {
                let g = gen(i);
                let e = expected.clone();
                set.spawn(async move { one_at_a_time(addr, false, until, g, &e).await });
            }
            let mut total = Slice::default();
            while let Some(r) = set.join_next().await {
                let s = r??;
                total.requests += s.requests;
                total.latencies_us.extend(s.latencies_us);
            }
            Ok(total)
        }
    }
}

/// The `p`th percentile of sorted latencies.
pub fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64
}

/// The median of the finite values.
pub fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A measured slice, with the CPU time of the runner's group (when known) and of this process.
pub struct Measured {
    pub slice: Slice,
    pub wall: Duration,
    pub runner_ticks: Option<u64>,
    pub self_ticks: u64,
}

/// [`run_slice`] with CPU accounting.
#[allow(clippy::too_many_arguments)]
pub async fn measure(
    version: Version,
    mode: Mode,
    addr: SocketAddr,
    pgid: Option<i32>,
    dur: Duration,
    window: usize,
    tag: &str,
    expected: &Value,
) -> Result<Measured> {
    let cpu0 = pgid.map(group_cpu_ticks);
    let self0 = self_cpu_ticks();
    let w0 = Instant::now();
    let slice = run_slice(version, mode, addr, dur, window, tag, expected).await?;
    let wall = w0.elapsed();
    let runner_ticks = pgid
        .zip(cpu0)
        .map(|(pgid, c0)| group_cpu_ticks(pgid).saturating_sub(c0));
    Ok(Measured {
        slice,
        wall,
        runner_ticks,
        self_ticks: self_cpu_ticks().saturating_sub(self0),
    })
}

/// A summary of one mode's slices as JSON facts.
pub fn summary(measured: &Measured) -> BTreeMap<String, Value> {
    let mut lat = measured.slice.latencies_us.clone();
    lat.sort_unstable();
    let secs = measured.wall.as_secs_f64();
    let reqs = measured.slice.requests.max(1) as f64;
    let tick_us = 1e6 / clock_ticks();
    let mut out = BTreeMap::new();
    out.insert("requests".into(), json!(measured.slice.requests));
    out.insert(
        "rps".into(),
        json!((measured.slice.requests as f64 / secs.max(1e-9)).round() as u64),
    );
    out.insert("p50_us".into(), json!(percentile(&lat, 50.0)));
    out.insert("p99_us".into(), json!(percentile(&lat, 99.0)));
    if let Some(t) = measured.runner_ticks {
        out.insert(
            "runner_cpu_us_per_req".into(),
            json!((t as f64 * tick_us / reqs).round()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_distinct_version_4_uuids() {
        let mut gen = Gen::new(Version::V1, "r0-serial-py-c0");
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = gen.uuid();
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12],
                "{id}"
            );
            assert!(id
                .bytes()
                .all(|b| b == b'-' || b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            assert!(parts[2].starts_with('4'), "version nibble: {id}");
            assert!(
                matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
                "variant: {id}"
            );
            assert!(seen.insert(id));
        }
        // Another tag, another stream; the same tag, the same stream.
        assert_ne!(
            Gen::new(Version::V1, "r0-serial-py-c1").uuid(),
            Gen::new(Version::V1, "r0-serial-py-c0").uuid()
        );
        assert_eq!(
            Gen::new(Version::V2, "t").uuid(),
            Gen::new(Version::V2, "t").uuid()
        );
    }

    #[test]
    fn load_requests_decode_and_echo_in_both_versions() {
        for version in Version::ALL {
            let mut gen = Gen::new(version, "t");
            let (job, rid, frame) = gen.next();
            let body = &frame[4..];
            assert_eq!(
                u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize,
                body.len()
            );
            let Message::Request(req) = version.decode(body).unwrap() else {
                panic!("not a request")
            };
            assert_eq!(
                (req.job_id.as_str(), req.request_id.as_str()),
                (job.as_str(), rid.as_str())
            );
            assert_eq!(version.echo_result(&req), expected_result(version));
        }
    }
}
