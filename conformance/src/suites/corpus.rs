//! The corpus suite: the golden corpus of the protocol version, driven through the runner's
//! socket, so that a runner is checked for codec agreement with `rrq-protocol` without any
//! in-process harness.
//!
//! Each corpus case becomes one conformance case `corpus/<group>/<name>`:
//!
//! - an **accepted request** goes through the `echo` handler (its `function_name` is rewritten
//!   to `echo` and a deadline already past to `null`, in the frame's own bytes, nothing else
//!   touched): the response must carry the same values as the request (required) and, for the
//!   group's `.canonical` case, exactly the canonical bytes of `rrq-protocol` (recommended); a
//!   request of another protocol version must get `unsupported_protocol_version`;
//! - an **accepted cancel** gets no answer (required); an **accepted response** gets
//!   `unexpected_message` with its ids (recommended);
//! - a **rejected frame** is fed to the runner as a byte stream: a bad length header closes
//!   the connection without an answer (required); a frame cut short is answered with nothing and
//!   closed at end of stream (recommended); a body of sound length that fails to decode gets the
//!   answer the answering rule prescribes — `invalid_frame` with exactly the ids the rule reads,
//!   naming the field the Rust decoder names, or nothing — on a connection that keeps working
//!   (recommended).
//!
//! Each case runs on a connection of its own; in-step cases end with a sentinel request on the
//! same connection, which must be answered too.

use crate::answering::answerable_ids;
use crate::case::{CaseInfo, Level, Suite, Verdict};
use crate::env::{fresh_request, Env, PROMPT};
use crate::report::Out;
use crate::values::same_value;
use crate::version::{frame_of, Message, Request, Version};
use crate::wire::{self, outcome_bytes, parse_response, show, Framer, Received};
use base64::Engine as _;
use rrq_protocol::outcome::ExecutionOutcome;
use rrq_protocol::{FrameError, MAX_FRAME_LEN};
use serde::Deserialize as _;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{timeout_at, Instant};

/// Cases in flight at once.
const CONCURRENCY: usize = 8;
/// How long an in-step connection is watched for frames it is not owed once its answers are in.
const QUIET: Duration = Duration::from_millis(40);
/// How soon a runner must close a connection after a framing error or end of stream.
const CLOSE_WITHIN: Duration = Duration::from_secs(2);

/// One case of a golden corpus file.
#[derive(Clone, Debug)]
pub struct CorpusCase {
    /// `group/name`.
    pub name: String,
    pub group: String,
    pub description: String,
    pub frame: Vec<u8>,
    pub accepted: bool,
}

/// Where the corpus of `version` is: `explicit`, else `generated/v<N>/golden` found from the
/// current directory upwards, else next to this crate's checkout.
pub fn locate(version: Version, explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(dir) = explicit {
        return if dir.is_dir() {
            Ok(dir.to_path_buf())
        } else {
            Err(format!("--corpus {}: not a directory", dir.display()))
        };
    }
    let rel = PathBuf::from(format!("generated/v{version}/golden"));
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    roots.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    for root in roots {
        let dir = root.join(&rel);
        if dir.is_dir() {
            return Ok(dir);
        }
    }
    Err(format!(
        "no golden corpus for protocol {version} ({} not found from the current directory upwards nor in the checkout this suite was built from); give --corpus DIR, or leave out the corpus suite",
        rel.display()
    ))
}

/// Reads every `*.json` corpus file of `dir` (sorted by name), checking they are for `version`.
pub fn load(dir: &Path, version: Version) -> Result<Vec<CorpusCase>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no corpus files (*.json)", dir.display()));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for path in files {
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        // The files embed messages 127 levels deep inside their own nesting.
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        de.disable_recursion_limit();
        let doc = Value::deserialize(&mut de)
            .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
        let versions: Vec<&str> = doc["provenance"]["schemas"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|s| s["protocol_version"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        if !versions.is_empty() && !versions.contains(&version.protocol_version()) {
            return Err(format!(
                "{} is a corpus of protocol {:?}, not {version}",
                path.display(),
                versions
            ));
        }
        let cases = doc["cases"]
            .as_array()
            .ok_or_else(|| format!("{}: no `cases` array", path.display()))?;
        for case in cases {
            let field = |key: &str| {
                case[key]
                    .as_str()
                    .ok_or_else(|| format!("{}: a case without `{key}`", path.display()))
            };
            let name = field("name")?.to_string();
            let frame = b64
                .decode(field("frame")?)
                .map_err(|e| format!("{}: {name}: frame: {e}", path.display()))?;
            out.push(CorpusCase {
                group: case["group"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| name.split('/').next().unwrap_or("").to_string()),
                description: case["description"].as_str().unwrap_or("").to_string(),
                accepted: field("verdict")? == "accept",
                frame,
                name,
            });
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// From a corpus case to what goes over the wire

type Ids = (Option<String>, Option<String>);

/// What one frame (or body) must get back.
#[derive(Clone, Debug)]
enum Want {
    /// A success whose result is the same value as `result`; `body` is the exact canonical
    /// response (for the group's canonical case).
    Echo { result: Value, body: Vec<u8> },
    /// An error outcome of this type; its message contains `path` when given.
    Error {
        ty: &'static str,
        path: Option<String>,
    },
    /// An error outcome of any type: the echo of the request cannot be carried by a frame the
    /// protocol accepts (nested deeper than MAX_NESTING_DEPTH, or longer than MAX_FRAME_LEN).
    Uncarriable,
    /// No answer at all.
    Nothing,
    /// Either no answer or `Want` (a request written just before a framing error may or may not
    /// be answered before the connection closes).
    Optional(Box<Want>),
}

#[derive(Clone, Debug)]
struct Expect {
    label: String,
    ids: Ids,
    want: Want,
}

/// How the bytes leave the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// In step: a sentinel request follows on the same connection and must be answered.
    InStep,
    /// A bad length header: the runner must close the connection without answering it.
    Close,
    /// A frame cut short: we half-close (FIN); the runner must close without answering it.
    Partial,
}

#[derive(Clone, Debug)]
struct Probe {
    id: String,
    group: String,
    level: Level,
    bytes: Vec<u8>,
    plan: Plan,
    expects: Vec<Expect>,
    /// Sends a cancel (run after the other cases, when nothing else is in flight).
    cancels: bool,
    /// What the suite rewrote in the frame (reported as a fact).
    rewritten: Vec<&'static str>,
    /// Why the case cannot run (a frame the suite cannot rewrite: a suite bug).
    unusable: Option<String>,
}

/// Turns a corpus case into a probe for `version`.
fn probe(version: Version, case: &CorpusCase, now: chrono::DateTime<chrono::Utc>) -> Probe {
    let mut p = Probe {
        id: format!("corpus/{}", case.name),
        group: case.group.clone(),
        level: Level::Recommended,
        bytes: case.frame.clone(),
        plan: Plan::InStep,
        expects: Vec::new(),
        cancels: false,
        rewritten: Vec::new(),
        unusable: None,
    };
    if case.accepted {
        let body = &case.frame[4.min(case.frame.len())..];
        match version.decode(body) {
            Ok(Message::Request(req)) => match echo_frame(version, body, &req, now) {
                Ok((bytes, req, rewritten)) => {
                    p.bytes = bytes;
                    p.rewritten = rewritten;
                    let ids = (Some(req.job_id.clone()), Some(req.request_id.clone()));
                    if req.protocol_version == version.protocol_version() {
                        let result = version.echo_result(&req);
                        let outcome = ExecutionOutcome::success(
                            req.job_id.clone(),
                            req.request_id.clone(),
                            result.clone(),
                        );
                        let body = version.response_body(&outcome);
                        let want = if body.len() > MAX_FRAME_LEN || version.decode(&body).is_err() {
                            // The echo adds a level (`result`) to the request's inputs.
                            Want::Uncarriable
                        } else {
                            p.level = Level::Required;
                            Want::Echo { result, body }
                        };
                        p.expects.push(Expect {
                            label: "the request".into(),
                            ids,
                            want,
                        });
                    } else {
                        let want = Want::Error {
                            ty: "unsupported_protocol_version",
                            path: None,
                        };
                        p.expects.push(Expect {
                            label: "a request of another protocol version".into(),
                            ids,
                            want,
                        });
                    }
                }
                Err(e) => p.unusable = Some(e),
            },
            Ok(Message::Cancel(_)) => {
                p.level = Level::Required;
                p.cancels = true;
            }
            Ok(Message::Response(o)) => p.expects.push(Expect {
                label: "a response frame".into(),
                ids: (o.job_id, o.request_id),
                want: Want::Error {
                    ty: "unexpected_message",
                    path: None,
                },
            }),
            Err(e) => {
                p.unusable = Some(format!(
                    "the corpus accepts it but this build of rrq-protocol does not: {e}"
                ))
            }
        }
        return p;
    }
    // A rejected frame: what a runner reading it as a stream must do.
    let mut framer = Framer::new();
    let pushed = framer.push(&case.frame);
    let mut bodies = Vec::new();
    while let Some(body) = framer.next_body() {
        bodies.push(body);
    }
    let mut all_cancels = !bodies.is_empty();
    for (i, body) in bodies.iter().enumerate() {
        let label = if bodies.len() == 1 {
            "the frame".to_string()
        } else {
            format!("frame {}", i + 1)
        };
        let decoded = version.decode(body);
        if !matches!(decoded, Ok(Message::Cancel(_))) {
            all_cancels = false;
        }
        let (ids, want) = match decoded {
            Ok(Message::Cancel(_)) => {
                p.cancels = true;
                ((None, Some(format!("(cancel {i})"))), Want::Nothing)
            }
            Ok(Message::Response(o)) => (
                (o.job_id, o.request_id),
                Want::Error {
                    ty: "unexpected_message",
                    path: None,
                },
            ),
            Ok(Message::Request(req)) => {
                let ids = (Some(req.job_id.clone()), Some(req.request_id.clone()));
                let result = version.echo_result(&req);
                let outcome = ExecutionOutcome::success(req.job_id, req.request_id, result.clone());
                (
                    ids,
                    Want::Echo {
                        result,
                        body: version.response_body(&outcome),
                    },
                )
            }
            Err(e) => match answerable_ids(body) {
                (None, None) => ((None, Some(format!("(unanswerable {i})"))), Want::Nothing),
                ids => {
                    let path = match &e {
                        FrameError::Invalid(d) => Some(d.path()).filter(|p| p != "$"),
                        _ => None,
                    };
                    (
                        ids,
                        Want::Error {
                            ty: "invalid_frame",
                            path,
                        },
                    )
                }
            },
        };
        p.expects.push(Expect { label, ids, want });
    }
    if pushed.is_err() {
        p.plan = Plan::Close;
        p.level = Level::Required;
    } else if framer.buffered() > 0 || case.frame.is_empty() {
        p.plan = Plan::Partial;
    } else if all_cancels {
        p.level = Level::Required;
    }
    if p.plan != Plan::InStep {
        for e in &mut p.expects {
            if !matches!(e.want, Want::Nothing) {
                e.want = Want::Optional(Box::new(e.want.clone()));
            }
        }
    }
    p
}

/// The frame of an accepted request, rewritten so that it reaches the `echo` handler: its
/// `function_name` set to `echo` and a deadline already past (or within the hour) set to `null`,
/// in the frame's own bytes (every other byte as the corpus has it). Checked: the rewritten
/// frame decodes to the same request but for those two fields.
fn echo_frame(
    version: Version,
    body: &[u8],
    req: &Request,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<u8>, Request, Vec<&'static str>), String> {
    let mut edits: Vec<(Range<usize>, &[u8])> = Vec::new();
    let mut rewritten = Vec::new();
    let mut want = req.clone();
    if req.function_name != "echo" {
        let spans = member_spans(body, &["payload", "function_name"]);
        edits.extend(spans.into_iter().map(|s| (s, &b"\"echo\""[..])));
        want.function_name = "echo".into();
        rewritten.push("function_name");
    }
    if req
        .context
        .deadline
        .is_some_and(|d| d < now + chrono::Duration::hours(1))
    {
        let spans = member_spans(body, &["payload", "context", "deadline"]);
        edits.extend(spans.into_iter().map(|s| (s, &b"null"[..])));
        want.context.deadline = None;
        rewritten.push("deadline");
    }
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = body.to_vec();
    for (range, with) in edits {
        out.splice(range, with.iter().copied());
    }
    match version.decode(&out) {
        Ok(Message::Request(got)) if got == want => Ok((frame_of(&out), got, rewritten)),
        other => Err(format!(
            "the suite could not rewrite the request for the echo handler (got {other:?})"
        )),
    }
}

/// The byte ranges of the values of every member at `path` (object keys from the root, compared
/// after unescaping; duplicates included) in `body`, which is valid JSON.
fn member_spans(body: &[u8], path: &[&str]) -> Vec<Range<usize>> {
    let mut scan = Scan {
        b: body,
        i: 0,
        out: Vec::new(),
    };
    scan.ws();
    scan.value(path, 0, true);
    scan.out
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
    out: Vec<Range<usize>>,
}

impl Scan<'_> {
    fn at(&self) -> u8 {
        self.b.get(self.i).copied().unwrap_or(0)
    }

    fn ws(&mut self) {
        while matches!(self.at(), b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    /// One value; `on_path` says whether the keys so far match `path[..depth]`.
    fn value(&mut self, path: &[&str], depth: usize, on_path: bool) {
        match self.at() {
            b'{' => {
                self.i += 1;
                self.ws();
                if self.at() == b'}' {
                    self.i += 1;
                    return;
                }
                loop {
                    self.ws();
                    let key = self.string();
                    self.ws();
                    self.i += 1; // ':'
                    self.ws();
                    let matches = on_path && depth < path.len() && key == path[depth];
                    let start = self.i;
                    self.value(path, depth + 1, matches);
                    if matches && depth + 1 == path.len() {
                        self.out.push(start..self.i);
                    }
                    self.ws();
                    let c = self.at();
                    self.i += 1;
                    if c != b',' {
                        return;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.at() == b']' {
                    self.i += 1;
                    return;
                }
                loop {
                    self.ws();
                    self.value(path, depth + 1, false);
                    self.ws();
                    let c = self.at();
                    self.i += 1;
                    if c != b',' {
                        return;
                    }
                }
            }
            b'"' => {
                self.string();
            }
            _ => {
                while self.i < self.b.len()
                    && !matches!(self.at(), b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    self.i += 1;
                }
            }
        }
    }

    /// A string token, unescaped (a lone surrogate becomes U+FFFD).
    fn string(&mut self) -> String {
        self.i += 1;
        let mut units: Vec<u16> = Vec::new();
        while self.i < self.b.len() {
            match self.at() {
                b'"' => break,
                b'\\' => {
                    let e = self.b.get(self.i + 1).copied().unwrap_or(0);
                    self.i += 2;
                    let unit = match e {
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => 0x0a,
                        b'r' => 0x0d,
                        b't' => 0x09,
                        b'u' => {
                            let hex = std::str::from_utf8(
                                &self.b[self.i..(self.i + 4).min(self.b.len())],
                            )
                            .unwrap_or("0");
                            self.i += 4;
                            u16::from_str_radix(hex, 16).unwrap_or(0xfffd)
                        }
                        other => other as u16,
                    };
                    units.push(unit);
                }
                c => {
                    let len = match c {
                        0x00..=0x7f => 1,
                        0xc0..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    let end = (self.i + len).min(self.b.len());
                    units.extend(String::from_utf8_lossy(&self.b[self.i..end]).encode_utf16());
                    self.i = end;
                }
            }
        }
        self.i += 1;
        String::from_utf16_lossy(&units)
    }
}

// ---------------------------------------------------------------------------------------------
// Running

/// The cases of the corpus of `version` (with the group canonical cases and `corpus/survival`),
/// for `--list` and the documentation; an error when the corpus cannot be read.
pub fn infos(version: Version, dir: &Path) -> Result<Vec<CaseInfo>, String> {
    let cases = load(dir, version)?;
    let now = crate::version::now();
    let mut out = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    for case in &cases {
        let p = probe(version, case, now);
        if !groups.contains(&p.group) {
            groups.push(p.group.clone());
        }
        out.push(CaseInfo {
            id: p.id.clone(),
            suite: Suite::Corpus,
            level: p.level,
            checks: format!("{}: {}", case.description, expectation(&p, case.accepted)),
            why: why(&p, case.accepted).to_string(),
        });
    }
    for group in groups {
        out.push(CaseInfo {
            id: format!("corpus/{group}.canonical"),
            suite: Suite::Corpus,
            level: Level::Recommended,
            checks: format!("every response to the `{group}` cases is exactly the bytes rrq-protocol writes (an echo: the canonical bytes of the echoed values)"),
            why: "codec agreement byte for byte; RRQ itself decodes with serde and needs only the same values".into(),
        });
    }
    out.push(crate::suites::behaviour::survival_info(Suite::Corpus));
    Ok(out)
}

fn expectation(p: &Probe, accepted: bool) -> &'static str {
    match (accepted, p.plan, p.expects.first().map(|e| &e.want)) {
        (true, _, Some(Want::Echo { .. })) => "echoed with the same values",
        (true, _, Some(Want::Uncarriable)) => {
            "answered with an error outcome: its echo would nest deeper than the protocol allows (never a frame the orchestrator must reject)"
        }
        (true, _, Some(Want::Error { ty: "unsupported_protocol_version", .. })) => "answered unsupported_protocol_version",
        (true, _, Some(Want::Error { .. })) => "answered unexpected_message with its ids",
        (true, _, _) => "no answer (a cancel)",
        (false, Plan::Close, _) => "the connection closed without an answer",
        (false, Plan::Partial, _) => "no answer; closed at end of stream",
        (false, Plan::InStep, _) if p.expects.iter().all(|e| matches!(e.want, Want::Nothing)) => {
            "no answer (the answering rule reads no ids); the connection keeps working"
        }
        (false, Plan::InStep, _) => "answered as the answering rule says; the connection keeps working",
    }
}

fn why(p: &Probe, accepted: bool) -> &'static str {
    match (accepted, p.level) {
        (true, Level::Required) => {
            "RRQ sends such frames: a runner must read them as rrq-protocol does"
        }
        (true, Level::Recommended) => {
            "RRQ never sends it; answering says why instead of leaving a job to time out"
        }
        (false, Level::Required) => {
            "framing: a runner must not allocate what a header announces nor fall out of step"
        }
        (false, Level::Recommended) => {
            "RRQ never sends it; the answering rule turns a job timeout into a prompt error"
        }
    }
}

/// Runs the corpus cases.
pub async fn run(env: &mut Env, emit: &mut dyn FnMut(Verdict)) {
    let version = env.version();
    let dir = match locate(version, env.settings.corpus.as_deref()) {
        Ok(dir) => dir,
        Err(e) => {
            return emit(
                Verdict::new("corpus/survival", Suite::Corpus, Level::Required)
                    .with_problems(vec![e]),
            )
        }
    };
    let cases = match load(&dir, version) {
        Ok(c) => c,
        Err(e) => {
            return emit(
                Verdict::new("corpus/survival", Suite::Corpus, Level::Required)
                    .with_problems(vec![e]),
            )
        }
    };
    let now = crate::version::now();
    let probes: Vec<Probe> = cases
        .iter()
        .map(|c| probe(version, c, now))
        .filter(|p| env.settings.wants(p.level, &p.id))
        .collect();
    let mut groups: Vec<String> = Vec::new();
    for p in &probes {
        if !groups.contains(&p.group) {
            groups.push(p.group.clone());
        }
    }
    if probes.is_empty() {
        return;
    }
    let mut survival = Vec::new();
    let mut canon: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut responses: BTreeMap<String, usize> = BTreeMap::new();
    // Cases that send cancels run last, when nothing but their own sentinels is in flight (a
    // cancel by job_id would otherwise reach another case's request with the same ids).
    let (plain, cancelling): (Vec<Probe>, Vec<Probe>) =
        probes.into_iter().partition(|p| !p.cancels);
    for batch in [plain, cancelling] {
        let addr = match env.shared_addr().await {
            Ok(addr) => addr,
            Err(e) => {
                for p in batch {
                    emit(
                        Verdict::new(p.id, Suite::Corpus, p.level)
                            .with_problems(vec![format!("the runner is unavailable: {e}")]),
                    );
                }
                continue;
            }
        };
        let gate = Arc::new(Semaphore::new(CONCURRENCY));
        let mut set = JoinSet::new();
        for (i, p) in batch.into_iter().enumerate() {
            let gate = gate.clone();
            set.spawn(async move {
                let _permit = gate
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                let result = run_probe(version, addr, &p, i).await;
                (i, p, result)
            });
        }
        let mut done = Vec::new();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(r) => done.push(r),
                Err(e) => survival.push(format!("a case task failed: {e}")),
            }
        }
        done.sort_by_key(|(i, _, _)| *i);
        for (_, p, mut result) in done {
            // Did the runner survive this case?
            if let Some(runner) = env.shared_runner() {
                if let Some(status) = runner.exited() {
                    let problem = format!("the runner died ({status})");
                    survival.push(format!("{}: {problem}", p.id));
                    result.problems.push(problem);
                    env.drop_shared();
                }
            }
            canon
                .entry(p.group.clone())
                .or_default()
                .extend(result.canon.iter().map(|c| format!("{}: {c}", p.id)));
            *responses.entry(p.group.clone()).or_default() += result.responses;
            let mut v = Verdict::new(p.id.clone(), Suite::Corpus, p.level)
                .with_problems(result.problems)
                .outcome(result.outcome);
            if let Some(why) = &p.unusable {
                v = v.skip(why.clone());
            }
            if !p.rewritten.is_empty() {
                v.facts
                    .push(("rewritten".into(), Value::from(p.rewritten.join(","))));
            }
            emit(v);
        }
        // One fresh request per batch proves the runner still serves new connections.
        if let Ok(addr) = env.shared_addr().await {
            if let Some(problem) = fresh_request(version, addr, "corpus").await {
                survival.push(problem);
            }
        }
    }
    for group in groups {
        let id = format!("corpus/{group}.canonical");
        if !env.settings.wants(Level::Recommended, &id) {
            continue;
        }
        let problems = canon.remove(&group).unwrap_or_default();
        let n = responses.get(&group).copied().unwrap_or(0);
        let mut v = Verdict::new(id, Suite::Corpus, Level::Recommended).with_problems(problems);
        if v.problems.is_empty() {
            v = v.note(format!("{n} responses, all canonical"));
        }
        emit(v);
    }
    if env.settings.wants(Level::Required, "corpus/survival") {
        emit(
            Verdict::new("corpus/survival", Suite::Corpus, Level::Required).with_problems(survival),
        );
    }
    env.drop_shared();
}

struct ProbeResult {
    problems: Vec<String>,
    canon: Vec<String>,
    responses: usize,
    outcome: Out,
}

/// Sends one case on a connection of its own and checks what comes back.
async fn run_probe(version: Version, addr: SocketAddr, p: &Probe, index: usize) -> ProbeResult {
    let mut r = ProbeResult {
        problems: Vec::new(),
        canon: Vec::new(),
        responses: 0,
        outcome: Out::Json(Value::Null),
    };
    if p.unusable.is_some() {
        return r;
    }
    let sentinel = Request::new(
        version,
        "job-corpus-sentinel",
        &format!("req-corpus-sentinel-{index}"),
        "echo",
    )
    .args(serde_json::json!(["sentinel"]));
    let mut expects = p.expects.clone();
    let mut bytes = p.bytes.clone();
    if p.plan == Plan::InStep {
        bytes.extend(version.request_frame(&sentinel));
        let result = version.echo_result(&sentinel);
        let outcome = ExecutionOutcome::success(
            sentinel.job_id.clone(),
            sentinel.request_id.clone(),
            result.clone(),
        );
        expects.push(Expect {
            label: "the request sent after it on the same connection".into(),
            ids: (
                Some(sentinel.job_id.clone()),
                Some(sentinel.request_id.clone()),
            ),
            want: Want::Echo {
                result,
                body: version.response_body(&outcome),
            },
        });
    }
    let mut conn =
        match tokio::time::timeout(wire::CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
            .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                r.problems.push(format!("could not connect: {e}"));
                return r;
            }
            Err(_) => {
                r.problems.push("connecting timed out".into());
                return r;
            }
        };
    let _ = conn.set_nodelay(true);
    use tokio::io::AsyncWriteExt;
    if let Err(e) = tokio::time::timeout(wire::WRITE_TIMEOUT, conn.write_all(&bytes))
        .await
        .unwrap_or(Err(std::io::ErrorKind::TimedOut.into()))
    {
        // A runner may close (and reset) before taking a frame after a framing error.
        if p.plan == Plan::InStep {
            r.problems.push(format!("writing the frame: {e}"));
            return r;
        }
    }
    if p.plan == Plan::Partial {
        let _ = conn.shutdown().await;
    }
    let mut seen: Vec<Option<Seen>> = vec![None; expects.len()];
    let mut framer = Framer::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut closed = false;
    let deadline = Instant::now()
        + if p.plan == Plan::InStep {
            PROMPT
        } else {
            CLOSE_WITHIN
        };
    let mut quiet_until: Option<Instant> = None;
    loop {
        while let Some(body) = framer.next_body() {
            r.responses += 1;
            take(version, &expects, &mut seen, body, &mut r);
        }
        let outstanding = expects
            .iter()
            .zip(&seen)
            .any(|(e, s)| s.is_none() && required(&e.want));
        if p.plan == Plan::InStep && !outstanding && quiet_until.is_none() {
            quiet_until = Some(Instant::now() + QUIET);
        }
        let until = quiet_until.unwrap_or(deadline).min(deadline);
        match timeout_at(until, conn.read(&mut buf)).await {
            Err(_) => {
                if quiet_until.is_none() {
                    let what = if p.plan == Plan::InStep {
                        let missing: Vec<&str> = expects
                            .iter()
                            .zip(&seen)
                            .filter(|(e, s)| s.is_none() && required(&e.want))
                            .map(|(e, _)| e.label.as_str())
                            .collect();
                        format!(
                            "no answer within {} s to {}",
                            PROMPT.as_secs(),
                            missing.join(", ")
                        )
                    } else {
                        format!(
                            "the connection was still open {} s after {}",
                            CLOSE_WITHIN.as_secs(),
                            if p.plan == Plan::Close {
                                "the bad length header"
                            } else {
                                "our end of stream"
                            }
                        )
                    };
                    r.problems.push(what);
                }
                break;
            }
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                if p.plan == Plan::InStep {
                    let missing: Vec<&str> = expects
                        .iter()
                        .zip(&seen)
                        .filter(|(e, s)| s.is_none() && required(&e.want))
                        .map(|(e, _)| e.label.as_str())
                        .collect();
                    if missing.is_empty() {
                        r.problems
                            .push("the runner closed the connection; it must keep working".into());
                    } else {
                        r.problems.push(format!(
                            "the runner closed the connection without answering {}",
                            missing.join(", ")
                        ));
                    }
                }
                if framer.buffered() > 0 {
                    r.problems.push(format!(
                        "the runner wrote {} bytes of a partial frame",
                        framer.buffered()
                    ));
                }
                break;
            }
            Ok(Ok(n)) => {
                if let Err(e) = framer.push(&buf[..n]) {
                    r.problems
                        .push(format!("the runner wrote a bad frame header: {e}"));
                    break;
                }
            }
        }
    }
    let mut outs = Vec::new();
    for (e, s) in expects.iter().zip(&seen) {
        if e.label.starts_with("the request sent after") {
            continue;
        }
        outs.push(match s {
            Some(Seen::Valid(received)) => Out::Raw(received.payload_bytes()),
            Some(Seen::Invalid) => Out::str("an invalid frame"),
            None => Out::Json(Value::Null),
        });
    }
    if p.plan != Plan::InStep {
        outs.push(Out::str(if closed { "closed" } else { "open" }));
    }
    r.outcome = Out::Arr(outs);
    r
}

fn required(want: &Want) -> bool {
    matches!(
        want,
        Want::Echo { .. } | Want::Error { .. } | Want::Uncarriable
    )
}

/// Matches one response to the first unanswered expectation with its ids, and checks it.
/// A response as it came: valid, or a frame rrq-protocol rejects.
#[derive(Clone, Debug)]
enum Seen {
    Valid(Box<Received>),
    Invalid,
}

fn take(
    version: Version,
    expects: &[Expect],
    seen: &mut [Option<Seen>],
    body: Vec<u8>,
    r: &mut ProbeResult,
) {
    let received = match parse_response(version, body.clone()) {
        Ok(received) => received,
        Err(e) => {
            // Which request it answers, read as the answering rule reads ids.
            let ids = answerable_ids(&body);
            let k = (0..expects.len()).find(|&k| seen[k].is_none() && expects[k].ids == ids);
            let label = k.map_or("a frame".to_string(), |k| expects[k].label.clone());
            r.problems.push(format!(
                "{label}: the runner wrote a frame that is not a valid response: {e}"
            ));
            if let Some(k) = k {
                seen[k] = Some(Seen::Invalid);
            }
            return;
        }
    };
    let ids: Ids = (
        received.outcome.job_id.clone(),
        received.outcome.request_id.clone(),
    );
    let Some(k) = (0..expects.len()).find(|&k| seen[k].is_none() && expects[k].ids == ids) else {
        let again = (0..expects.len()).any(|k| expects[k].ids == ids);
        r.problems.push(if again {
            format!("answered twice: {}", received.show())
        } else {
            format!(
                "a response no frame asked for (job_id={:?} request_id={:?}): {}",
                ids.0,
                ids.1,
                received.show()
            )
        });
        return;
    };
    let e = &expects[k];
    let want = match &e.want {
        Want::Optional(inner) => inner.as_ref(),
        other => other,
    };
    let o = &received.outcome;
    match want {
        Want::Nothing | Want::Optional(_) => r.problems.push(format!(
            "{} must not be answered, got {}",
            e.label,
            received.show()
        )),
        Want::Echo { result, body } => {
            let ok = o.status == rrq_protocol::outcome::OutcomeStatus::Success
                && o.error.is_none()
                && o.result.as_ref().is_some_and(|got| same_value(got, result));
            if !ok {
                r.problems.push(format!(
                    "{}: expected a success echoing {} , got {}",
                    e.label,
                    show(&outcome_bytes(&ExecutionOutcome::success(
                        "",
                        "",
                        result.clone()
                    ))),
                    received.show()
                ));
            } else if received.body != *body {
                r.canon.push(format!(
                    "{}: got {} expected {}",
                    e.label,
                    received.show(),
                    show(body)
                ));
            }
        }
        Want::Uncarriable => {
            if o.status != rrq_protocol::outcome::OutcomeStatus::Error || o.error.is_none() {
                r.problems.push(format!("{}: its echo cannot be carried by a valid frame; expected an error outcome with its ids, got {}", e.label, received.show()));
            }
        }
        Want::Error { ty, path } => {
            let ok = o.status == rrq_protocol::outcome::OutcomeStatus::Error
                && o.error.as_ref().and_then(|x| x.error_type.as_deref()) == Some(*ty);
            if !ok {
                r.problems.push(format!("{}: expected an error outcome of type {ty:?} with job_id={:?} request_id={:?}, got {}", e.label, e.ids.0, e.ids.1, received.show()));
            } else if let (Some(path), Some(err)) = (path, &o.error) {
                if !err.message.contains(path.as_str()) {
                    r.problems.push(format!(
                        "{}: the error message should name the field {path:?}: {}",
                        e.label,
                        received.show()
                    ));
                }
            }
            if !received.is_canonical() {
                r.canon.push(format!(
                    "{}: got {} expected {}",
                    e.label,
                    received.show(),
                    show(&received.canonical)
                ));
            }
        }
    }
    seen[k] = Some(Seen::Valid(Box::new(received)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_spans_find_every_duplicate_after_unescaping() {
        let body = br#"{"payload":{"function_name":"a","x":{"function_name":"no"}},"pay\u006coad" : {"function\u005fname" :  "b" , "context":{"deadline":null}}}"#;
        let spans = member_spans(body, &["payload", "function_name"]);
        let got: Vec<&str> = spans
            .iter()
            .map(|s| std::str::from_utf8(&body[s.clone()]).unwrap())
            .collect();
        assert_eq!(got, vec!["\"a\"", "\"b\""]);
        let spans = member_spans(body, &["payload", "context", "deadline"]);
        assert_eq!(&body[spans[0].clone()], b"null");
    }

    #[test]
    fn the_corpus_of_the_checkout_turns_into_probes() {
        for version in Version::ALL {
            let Ok(dir) = locate(version, None) else {
                continue;
            };
            let cases = load(&dir, version).unwrap();
            let now = crate::version::now();
            let probes: Vec<Probe> = cases.iter().map(|c| probe(version, c, now)).collect();
            let unusable: Vec<&String> =
                probes.iter().filter_map(|p| p.unusable.as_ref()).collect();
            assert!(unusable.is_empty(), "{unusable:?}");
            let echoes = probes
                .iter()
                .filter(|p| matches!(p.expects.first().map(|e| &e.want), Some(Want::Echo { .. })))
                .count();
            assert!(echoes > 100, "{echoes} echo cases");
            assert!(
                probes.iter().any(|p| p.plan == Plan::Close)
                    && probes.iter().any(|p| p.plan == Plan::Partial)
            );
        }
    }
}
