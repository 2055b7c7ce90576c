//! Talking to a runner the way the RRQ orchestrator does: frames over TCP, one response per
//! request, cancels on their own short-lived connection. Every socket operation has a timeout.

use rrq_protocol::v1::{
    decode_message, encode_frame, encode_message, CancelRequest, ExecutionOutcome,
    ExecutionRequest, FrameDecoder, RunnerMessage, FRAME_HEADER_LEN,
};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};

/// Longest wait for a TCP connection to be accepted.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for a frame to be written.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request got no usable response. `kind()` is stable across runs and runners (it is what
/// the scenario output prints); `Display` adds the details.
#[derive(Debug)]
pub enum TransportError {
    /// The connection could not be opened.
    Connect(io::Error),
    /// An operation did not finish in time; names the operation.
    Timeout(&'static str),
    /// The peer closed (or reset) the connection before a whole response frame arrived.
    Closed(String),
    /// Any other socket error.
    Io(io::Error),
    /// The runner wrote a frame with a bad length header or a body that is not a valid message.
    BadFrame(String),
    /// The runner wrote a valid message that is not a `response`.
    NotAResponse(String),
    /// The response's `job_id` / `request_id` are not those of the request (RRQ treats this as a
    /// transport error too).
    Mismatch { expected: (String, String), got: (Option<String>, Option<String>) },
}

impl TransportError {
    /// A short, stable name for the kind of failure.
    pub fn kind(&self) -> &'static str {
        match self {
            TransportError::Connect(_) => "connect_failed",
            TransportError::Timeout(_) => "timeout",
            TransportError::Closed(_) => "closed",
            TransportError::Io(_) => "io",
            TransportError::BadFrame(_) => "bad_frame",
            TransportError::NotAResponse(_) => "not_a_response",
            TransportError::Mismatch { .. } => "mismatched_ids",
        }
    }

    fn from_io(err: io::Error) -> Self {
        use io::ErrorKind::*;
        match err.kind() {
            UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe => {
                TransportError::Closed(err.to_string())
            }
            _ => TransportError::Io(err),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Connect(e) => write!(f, "could not connect: {e}"),
            TransportError::Timeout(what) => write!(f, "timed out waiting to {what}"),
            TransportError::Closed(why) => write!(f, "connection closed before a whole response: {why}"),
            TransportError::Io(e) => write!(f, "socket error: {e}"),
            TransportError::BadFrame(e) => write!(f, "runner wrote an invalid frame: {e}"),
            TransportError::NotAResponse(t) => write!(f, "runner wrote a {t} message instead of a response"),
            TransportError::Mismatch { expected, got } => write!(
                f,
                "response ids job_id={:?} request_id={:?} do not match the request's job_id={:?} request_id={:?}",
                got.0, got.1, expected.0, expected.1
            ),
        }
    }
}

impl std::error::Error for TransportError {}

/// A response read from a runner: the decoded outcome, the bytes as the runner wrote them, and
/// the canonical bytes (`rrq_protocol::v1::encode_message`) of the same message.
#[derive(Debug, Clone)]
pub struct Received {
    pub outcome: ExecutionOutcome,
    pub body: Vec<u8>,
    pub canonical: Vec<u8>,
}

impl Received {
    /// Did the runner write exactly the bytes the Rust crate writes for this message?
    pub fn is_canonical(&self) -> bool {
        self.body == self.canonical
    }

    /// The canonical bytes of the payload alone (the `ExecutionOutcome` object).
    pub fn payload_bytes(&self) -> Vec<u8> {
        outcome_bytes(&self.outcome)
    }

    /// RRQ's correlation check: both ids present and equal to the request's.
    pub fn check_ids(&self, job_id: &str, request_id: &str) -> Result<(), TransportError> {
        if self.outcome.job_id.as_deref() == Some(job_id)
            && self.outcome.request_id.as_deref() == Some(request_id)
        {
            Ok(())
        } else {
            Err(TransportError::Mismatch {
                expected: (job_id.to_string(), request_id.to_string()),
                got: (self.outcome.job_id.clone(), self.outcome.request_id.clone()),
            })
        }
    }
}

/// The canonical bytes of an outcome object, cut from the canonical `response` message.
pub fn outcome_bytes(outcome: &ExecutionOutcome) -> Vec<u8> {
    const PREFIX: &[u8] = br#"{"type":"response","payload":"#;
    let message = RunnerMessage::Response { payload: outcome.clone() };
    let bytes = encode_message(&message).expect("an outcome always encodes");
    assert!(bytes.starts_with(PREFIX) && bytes.ends_with(b"}"), "unexpected envelope layout");
    bytes[PREFIX.len()..bytes.len() - 1].to_vec()
}

/// One TCP connection to a runner, with an incremental frame decoder on its read side.
pub struct Conn {
    stream: TcpStream,
    decoder: FrameDecoder,
}

impl Conn {
    /// Opens a connection (within [`CONNECT_TIMEOUT`]).
    pub async fn open(addr: SocketAddr) -> Result<Conn, TransportError> {
        let stream = timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| TransportError::Timeout("connect"))?
            .map_err(TransportError::Connect)?;
        stream.set_nodelay(true).map_err(TransportError::Io)?;
        Ok(Conn { stream, decoder: FrameDecoder::new() })
    }

    /// Writes raw bytes (within [`WRITE_TIMEOUT`]).
    pub async fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        timeout(WRITE_TIMEOUT, self.stream.write_all(bytes))
            .await
            .map_err(|_| TransportError::Timeout("write a frame"))?
            .map_err(TransportError::from_io)
    }

    /// Writes one message as a canonical frame.
    pub async fn send(&mut self, message: &RunnerMessage) -> Result<(), TransportError> {
        let frame = encode_frame(message).map_err(|e| TransportError::BadFrame(e.to_string()))?;
        self.write_bytes(&frame).await
    }

    /// Writes `body` as one frame (header + body), whatever the body holds.
    pub async fn send_body(&mut self, body: &[u8]) -> Result<(), TransportError> {
        self.write_bytes(&frame_body(body)).await
    }

    /// Reads the next whole frame body, failing once `deadline` passes.
    pub async fn recv_body(&mut self, deadline: Instant) -> Result<Vec<u8>, TransportError> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if let Some(body) = self.decoder.next_body() {
                return Ok(body);
            }
            let n = timeout_at(deadline, self.stream.read(&mut buf))
                .await
                .map_err(|_| TransportError::Timeout("read a response"))?
                .map_err(TransportError::from_io)?;
            if n == 0 {
                let why = match self.decoder.buffered() {
                    0 => "end of stream".to_string(),
                    n => format!("end of stream after {n} bytes of a partial frame"),
                };
                return Err(TransportError::Closed(why));
            }
            self.decoder
                .push(&buf[..n])
                .map_err(|e| TransportError::BadFrame(e.to_string()))?;
        }
    }

    /// Reads the next frame and decodes it as a `response`.
    pub async fn recv_response(&mut self, deadline: Instant) -> Result<Received, TransportError> {
        let body = self.recv_body(deadline).await?;
        parse_response(body)
    }

    /// Waits for the peer to close the connection (a read returning end of stream or a reset).
    /// Returns what was read before that, if anything.
    pub async fn wait_closed(&mut self, deadline: Instant) -> Result<usize, TransportError> {
        let mut buf = vec![0u8; 4096];
        let mut total = 0;
        loop {
            match timeout_at(deadline, self.stream.read(&mut buf)).await {
                Err(_) => return Err(TransportError::Timeout("see the connection closed")),
                Ok(Ok(0)) => return Ok(total),
                Ok(Ok(n)) => total += n,
                Ok(Err(e)) => match TransportError::from_io(e) {
                    TransportError::Closed(_) => return Ok(total),
                    other => return Err(other),
                },
            }
        }
    }
}

/// A frame: the 4-byte big-endian length, then `body`.
pub fn frame_body(body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(body);
    frame
}

/// Decodes a frame body that must be a `response`.
pub fn parse_response(body: Vec<u8>) -> Result<Received, TransportError> {
    let message = decode_message(&body).map_err(|e| {
        TransportError::BadFrame(format!("{e} (body: {})", String::from_utf8_lossy(&body)))
    })?;
    let canonical = encode_message(&message).map_err(|e| TransportError::BadFrame(e.to_string()))?;
    match message {
        RunnerMessage::Response { payload } => Ok(Received { outcome: payload, body, canonical }),
        RunnerMessage::Request { .. } => Err(TransportError::NotAResponse("request".into())),
        RunnerMessage::Cancel { .. } => Err(TransportError::NotAResponse("cancel".into())),
    }
}

/// The RRQ way to run one request: a new connection, one request frame, exactly one response
/// frame (whose ids must match), then close.
pub async fn call(
    addr: SocketAddr,
    request: &ExecutionRequest,
    wait: Duration,
) -> Result<Received, TransportError> {
    let deadline = Instant::now() + wait;
    let mut conn = Conn::open(addr).await?;
    conn.send(&RunnerMessage::Request { payload: request.clone() }).await?;
    let received = conn.recv_response(deadline).await?;
    received.check_ids(&request.job_id, &request.request_id)?;
    Ok(received)
}

/// The RRQ way to cancel: a `cancel` frame on a new connection, closed at once, no reply awaited.
pub async fn cancel(addr: SocketAddr, cancel: CancelRequest) -> Result<(), TransportError> {
    let mut conn = Conn::open(addr).await?;
    conn.send(&RunnerMessage::Cancel { payload: cancel }).await?;
    let _ = timeout(WRITE_TIMEOUT, conn.stream.shutdown()).await;
    Ok(())
}

/// The RRQ readiness probe: connect, then close at once without sending anything.
pub async fn probe(addr: SocketAddr) -> bool {
    match timeout(Duration::from_secs(1), TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => {
            drop(stream);
            true
        }
        _ => false,
    }
}
