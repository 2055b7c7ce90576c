//! What the suites run against: a runner command the suite starts (as RRQ does), or the
//! address of a runner that is already running; and the checks every case shares.

use crate::case::Level;
use crate::process::Runner;
use crate::version::{Request, Version};
use crate::wire;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Longest wait for an answer that should come promptly.
pub const PROMPT: Duration = Duration::from_secs(10);

/// The runner under test.
#[derive(Clone, Debug)]
pub enum Target {
    /// A shell command line that starts a runner (the suite adds the address the way the RRQ
    /// orchestrator of the protocol version does).
    Command(String),
    /// A runner already listening here: cases that must start, signal or measure the runner
    /// process are skipped.
    Address(SocketAddr),
}

/// How the load suite runs.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions {
    /// Length of each mode's measured slice.
    pub slice: Duration,
    /// Unmeasured warm-up before it.
    pub warmup: Duration,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            slice: Duration::from_millis(600),
            warmup: Duration::from_millis(150),
        }
    }
}

/// The settings of a run.
#[derive(Clone, Debug)]
pub struct Settings {
    pub version: Version,
    pub target: Target,
    /// The highest level to run: `Required` runs only the required cases.
    pub level: Level,
    pub ready_timeout: Duration,
    /// Copy the runner's output to stderr, prefixed.
    pub echo_output: bool,
    /// Where the golden corpus of `version` is (its `*.json` files).
    pub corpus: Option<PathBuf>,
    pub load: LoadOptions,
    /// Run the framing and hostile scenarios on one runner instead of a fresh one each.
    pub shared_runner: bool,
    /// Only the cases whose id starts with one of these (empty: all).
    pub only: Vec<String>,
}

impl Settings {
    /// Should a case of `level` with this id run?
    pub fn wants(&self, level: Level, id: &str) -> bool {
        level <= self.level
            && (self.only.is_empty()
                || self
                    .only
                    .iter()
                    .any(|prefix| id.starts_with(prefix.as_str())))
    }
}

/// The suites' view of the runner: a shared runner started on demand (and again if a case
/// killed it), or fresh ones.
pub struct Env {
    pub settings: Settings,
    shared: Option<Runner>,
}

impl Env {
    pub fn new(settings: Settings) -> Env {
        Env {
            settings,
            shared: None,
        }
    }

    pub fn version(&self) -> Version {
        self.settings.version
    }

    /// Can the suite start runners (and so signal and measure them)?
    pub fn has_command(&self) -> bool {
        matches!(self.settings.target, Target::Command(_))
    }

    /// Starts a runner of its own (a command target only).
    pub async fn fresh_runner(&self) -> Result<Runner, String> {
        match &self.settings.target {
            Target::Command(command) => Runner::start(
                command,
                self.version(),
                self.settings.ready_timeout,
                self.settings.echo_output,
            )
            .await
            .map_err(|e| format!("{e:#}")),
            Target::Address(_) => {
                Err("needs a runner command (--runner), not an address".to_string())
            }
        }
    }

    /// Starts a runner under a parent of its own (a command target only).
    pub async fn runner_with_parent(&self) -> Result<Runner, String> {
        match &self.settings.target {
            Target::Command(command) => Runner::start_with_parent(
                command,
                self.version(),
                self.settings.ready_timeout,
                self.settings.echo_output,
            )
            .await
            .map_err(|e| format!("{e:#}")),
            Target::Address(_) => {
                Err("needs a runner command (--runner), not an address".to_string())
            }
        }
    }

    /// The address of the shared runner, starting it first when needed.
    pub async fn shared_addr(&mut self) -> Result<SocketAddr, String> {
        match &self.settings.target {
            Target::Address(addr) => Ok(*addr),
            Target::Command(_) => {
                if self.shared.is_none() {
                    self.shared = Some(self.fresh_runner().await?);
                }
                Ok(self.shared.as_ref().expect("just started").addr())
            }
        }
    }

    /// The shared runner process, when the suite started it.
    pub fn shared_runner(&mut self) -> Option<&mut Runner> {
        self.shared.as_mut()
    }

    /// Stops the shared runner (the next case starts a new one).
    pub fn drop_shared(&mut self) {
        self.shared = None;
    }

    /// The check every case ends with: the runner process is alive and a fresh request on a
    /// new connection gets the right answer. A problem when not; a dead shared runner is
    /// dropped, so that the next case gets a new one.
    pub async fn survival(
        &mut self,
        addr: SocketAddr,
        runner: Option<&mut Runner>,
        tag: &str,
    ) -> Option<String> {
        // Give a crash a moment to show.
        tokio::time::sleep(Duration::from_millis(10)).await;
        if let Some(runner) = runner {
            if let Some(status) = runner.exited() {
                return Some(format!("the runner died ({status})"));
            }
        } else if let Some(runner) = self.shared.as_mut() {
            if runner.addr() == addr {
                if let Some(status) = runner.exited() {
                    self.shared = None;
                    return Some(format!("the runner died ({status})"));
                }
            }
        }
        fresh_request(self.version(), addr, tag).await
    }
}

/// A fresh echo on a new connection; a problem unless it is answered correctly.
pub async fn fresh_request(version: Version, addr: SocketAddr, tag: &str) -> Option<String> {
    let req = Request::new(
        version,
        &format!("job-fresh-{tag}"),
        &format!("req-fresh-{tag}"),
        "echo",
    )
    .args(json!([tag]))
    .named(json!({"fresh": true}));
    match wire::call(version, addr, &req, PROMPT).await {
        Ok(r) => {
            let want = version.echo_result(&req);
            if r.outcome.result.as_ref() != Some(&want) {
                Some(format!(
                    "a fresh request afterwards got a wrong answer: {}",
                    r.show()
                ))
            } else {
                None
            }
        }
        Err(e) => Some(format!(
            "a fresh request on a new connection afterwards failed: {e}"
        )),
    }
}
