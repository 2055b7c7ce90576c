//! Talking to a runner as the RRQ orchestrators do: frames over TCP, one response per request,
//! cancels on a connection of their own or beside the requests. Every socket operation has a
//! timeout.

use crate::version::{frame_of, Cancel, Message, Request, Version};
use rrq_protocol::outcome::ExecutionOutcome;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};

/// Splits a byte stream into frame bodies (framing is the same in every version; the message
/// type parameter is only what `next_message` would decode, which the suite never calls).
pub type Framer = rrq_protocol::frame::FrameDecoder<rrq_protocol::v1::RunnerMessage>;

/// Longest wait for a TCP connection to be accepted.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for a frame to be written.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request got no usable response. `kind()` is stable across runs and runners (the
/// case outcomes print it); `Display` adds the details.
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
    Mismatch {
        expected: (String, String),
        got: (Option<String>, Option<String>),
    },
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

    pub fn from_io(err: io::Error) -> Self {
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
            TransportError::Closed(why) => write!(f, "the runner closed the connection before a whole response: {why}"),
            TransportError::Io(e) => write!(f, "socket error: {e}"),
            TransportError::BadFrame(e) => write!(f, "the runner wrote an invalid frame: {e}"),
            TransportError::NotAResponse(t) => write!(f, "the runner wrote a {t} message instead of a response"),
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
/// the canonical bytes (`rrq-protocol`'s encoding) of the same message.
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

    /// The body as text, for problem reports (cut when long).
    pub fn show(&self) -> String {
        show(&self.body)
    }
}

/// Bytes as text for a report: lossy UTF-8, cut after 300 characters.
pub fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() > 300 {
        format!(
            "{}... ({} bytes)",
            text.chars().take(300).collect::<String>(),
            bytes.len()
        )
    } else {
        text.into_owned()
    }
}

/// The canonical bytes of an outcome object, cut from the canonical `response` message.
pub fn outcome_bytes(outcome: &ExecutionOutcome) -> Vec<u8> {
    const PREFIX: &[u8] = br#"{"type":"response","payload":"#;
    let bytes = Version::V1.response_body(outcome);
    assert!(
        bytes.starts_with(PREFIX) && bytes.ends_with(b"}"),
        "unexpected envelope layout"
    );
    bytes[PREFIX.len()..bytes.len() - 1].to_vec()
}

/// Decodes a frame body that must be a `response` (strictly, as `rrq-protocol` does).
pub fn parse_response(version: Version, body: Vec<u8>) -> Result<Received, TransportError> {
    let message = version
        .decode(&body)
        .map_err(|e| TransportError::BadFrame(format!("{e} (body: {})", show(&body))))?;
    let canonical = version.encode(&message);
    match message {
        Message::Response(outcome) => Ok(Received {
            outcome,
            body,
            canonical,
        }),
        Message::Request(_) => Err(TransportError::NotAResponse("request".into())),
        Message::Cancel(_) => Err(TransportError::NotAResponse("cancel".into())),
    }
}

/// One TCP connection to a runner, with a frame splitter on its read side.
pub struct Conn {
    pub stream: TcpStream,
    framer: Framer,
    version: Version,
    buf: Vec<u8>,
}

impl Conn {
    /// Opens a connection (within [`CONNECT_TIMEOUT`]).
    pub async fn open(version: Version, addr: SocketAddr) -> Result<Conn, TransportError> {
        let stream = timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| TransportError::Timeout("connect"))?
            .map_err(TransportError::Connect)?;
        stream.set_nodelay(true).map_err(TransportError::Io)?;
        Ok(Conn::from_stream(version, stream))
    }

    pub fn from_stream(version: Version, stream: TcpStream) -> Conn {
        Conn {
            stream,
            framer: Framer::new(),
            version,
            buf: vec![0; 64 * 1024],
        }
    }

    /// Writes raw bytes (within [`WRITE_TIMEOUT`]).
    pub async fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        timeout(WRITE_TIMEOUT, self.stream.write_all(bytes))
            .await
            .map_err(|_| TransportError::Timeout("write a frame"))?
            .map_err(TransportError::from_io)
    }

    /// Writes one request as a canonical frame.
    pub async fn send(&mut self, request: &Request) -> Result<(), TransportError> {
        let frame = self.version.request_frame(request);
        self.write_bytes(&frame).await
    }

    /// Writes one cancel as a canonical frame.
    pub async fn send_cancel(&mut self, cancel: &Cancel) -> Result<(), TransportError> {
        let frame = self.version.cancel_frame(cancel);
        self.write_bytes(&frame).await
    }

    /// Writes `body` as one frame (header + body), whatever the body holds.
    pub async fn send_body(&mut self, body: &[u8]) -> Result<(), TransportError> {
        self.write_bytes(&frame_of(body)).await
    }

    /// Reads the next whole frame body, failing once `deadline` passes.
    pub async fn recv_body(&mut self, deadline: Instant) -> Result<Vec<u8>, TransportError> {
        loop {
            if let Some(body) = self.framer.next_body() {
                return Ok(body);
            }
            let n = timeout_at(deadline, self.stream.read(&mut self.buf))
                .await
                .map_err(|_| TransportError::Timeout("read a response"))?
                .map_err(TransportError::from_io)?;
            if n == 0 {
                let why = match self.framer.buffered() {
                    0 => "end of stream".to_string(),
                    n => format!("end of stream after {n} bytes of a partial frame"),
                };
                return Err(TransportError::Closed(why));
            }
            self.framer
                .push(&self.buf[..n])
                .map_err(|e| TransportError::BadFrame(e.to_string()))?;
        }
    }

    /// Reads the next frame and decodes it as a `response`.
    pub async fn recv_response(&mut self, deadline: Instant) -> Result<Received, TransportError> {
        let body = self.recv_body(deadline).await?;
        parse_response(self.version, body)
    }

    /// Waits for the peer to close the connection (a read returning end of stream or a reset).
    /// Returns how many bytes were read before that.
    pub async fn wait_closed(&mut self, deadline: Instant) -> Result<usize, TransportError> {
        let mut total = self.framer.buffered();
        loop {
            match timeout_at(deadline, self.stream.read(&mut self.buf)).await {
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

    /// Half-closes the connection (FIN): no more bytes from us.
    pub async fn shutdown_write(&mut self) {
        let _ = timeout(WRITE_TIMEOUT, self.stream.shutdown()).await;
    }
}

/// The RRQ 0.9 way to run one request: a new connection, one request frame, exactly one
/// response frame (whose ids must match), then close.
pub async fn call(
    version: Version,
    addr: SocketAddr,
    request: &Request,
    wait: Duration,
) -> Result<Received, TransportError> {
    let deadline = Instant::now() + wait;
    let mut conn = Conn::open(version, addr).await?;
    conn.send(request).await?;
    let received = conn.recv_response(deadline).await?;
    received.check_ids(&request.job_id, &request.request_id)?;
    Ok(received)
}

/// The RRQ 0.9 way to cancel: a `cancel` frame on a new connection, closed at once, no reply
/// awaited.
pub async fn cancel(
    version: Version,
    addr: SocketAddr,
    cancel: &Cancel,
) -> Result<(), TransportError> {
    let mut conn = Conn::open(version, addr).await?;
    conn.send_cancel(cancel).await?;
    conn.shutdown_write().await;
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
