//! Starting a runner the way the RRQ orchestrator of its protocol version does, watching its
//! output and memory, and stopping it.

use crate::version::Version;
use anyhow::{bail, Context as _, Result};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::time::{sleep, timeout, Instant};

/// The environment variable RRQ 0.9 sets to tell a runner where to listen.
pub const TCP_SOCKET_ENV: &str = "RRQ_RUNNER_TCP_SOCKET";
/// The option RRQ 0.10+ appends to the runner command.
pub const TCP_SOCKET_FLAG: &str = "--tcp-socket";

/// A free loopback port, found by binding port 0 and letting it go again.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .context("could not bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether something on this machine still listens on `addr`'s port (a bind fails).
pub fn port_taken(addr: SocketAddr) -> bool {
    TcpListener::bind(addr).is_err()
}

/// The shell command line that starts `command` for `version` on `addr`: protocol 1 gets the
/// address only as `RRQ_RUNNER_TCP_SOCKET` (as RRQ 0.9 gives it), protocol 2 only as
/// `--tcp-socket HOST:PORT` appended to the command (as RRQ 0.10+ does).
fn command_line(command: &str, version: Version, addr: SocketAddr) -> String {
    match version {
        Version::V1 => command.to_string(),
        Version::V2 => format!("{command} {TCP_SOCKET_FLAG} {addr}"),
    }
}

fn base_command(shell_line: &str, version: Version, addr: SocketAddr) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(shell_line)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    match version {
        Version::V1 => cmd.env(TCP_SOCKET_ENV, addr.to_string()),
        Version::V2 => cmd.env_remove(TCP_SOCKET_ENV),
    };
    cmd
}

/// Lines a runner wrote on stdout or stderr, with when they came.
#[derive(Default)]
pub struct Output {
    lines: Mutex<Vec<(Instant, &'static str, String)>>,
}

impl Output {
    /// Lines written before `until`, as `stream: line`.
    pub fn before(&self, until: Instant) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, _, _)| *at < until)
            .map(|(_, stream, line)| format!("{stream}: {line}"))
            .collect()
    }

    /// Every line written so far.
    pub fn all(&self) -> Vec<String> {
        self.before(Instant::now() + Duration::from_secs(3600))
    }
}

fn capture(
    stream: impl AsyncRead + Unpin + Send + 'static,
    name: &'static str,
    output: Arc<Output>,
    echo: bool,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if echo {
                eprintln!("[runner {name}] {line}");
            }
            output
                .lines
                .lock()
                .unwrap()
                .push((Instant::now(), name, line));
        }
    });
}

/// A runner process started from a shell command line.
///
/// The command runs as `sh -c 'exec COMMAND'` in a process group of its own, stdin from
/// `/dev/null`, stdout and stderr captured (and copied to this process's stderr, prefixed,
/// when `echo_output`); thanks to the `exec` the process is the command itself, as when RRQ
/// runs a runner command directly (a wrapper script must `exec` its runner). Dropping a
/// `Runner` kills its whole process group.
pub struct Runner {
    child: Child,
    /// The runner's pid (for a runner started under a parent of its own, the runner's, not the
    /// parent's).
    pid: i32,
    /// The process group (the shell we started, which is also the runner when it `exec`s).
    pgid: i32,
    addr: SocketAddr,
    status: Option<ExitStatus>,
    started: Instant,
    ready_at: Instant,
    output: Arc<Output>,
}

impl Runner {
    /// Starts `command` for `version` on a free port and waits (up to `ready_timeout`) until the
    /// port accepts connections, probing as RRQ does: connect, then close at once.
    pub async fn start(
        command: &str,
        version: Version,
        ready_timeout: Duration,
        echo_output: bool,
    ) -> Result<Runner> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let line = format!("exec {}", command_line(command, version, addr));
        Self::spawn(
            &line,
            command,
            version,
            addr,
            ready_timeout,
            echo_output,
            false,
        )
        .await
    }

    /// Like [`Runner::start`], but with a shell as the runner's parent (`sh -c 'COMMAND & wait'`),
    /// so that the parent can be killed while the runner lives: see [`Runner::kill_parent`].
    pub async fn start_with_parent(
        command: &str,
        version: Version,
        ready_timeout: Duration,
        echo_output: bool,
    ) -> Result<Runner> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let line = format!("{} & wait", command_line(command, version, addr));
        Self::spawn(
            &line,
            command,
            version,
            addr,
            ready_timeout,
            echo_output,
            true,
        )
        .await
    }

    async fn spawn(
        line: &str,
        command: &str,
        version: Version,
        addr: SocketAddr,
        ready_timeout: Duration,
        echo_output: bool,
        with_parent: bool,
    ) -> Result<Runner> {
        let started = Instant::now();
        let mut child = base_command(line, version, addr)
            .spawn()
            .with_context(|| format!("could not start the runner command `{command}`"))?;
        let pgid = child.id().context("the runner exited at once")? as i32;
        let output = Arc::new(Output::default());
        capture(
            child.stdout.take().expect("piped"),
            "stdout",
            output.clone(),
            echo_output,
        );
        capture(
            child.stderr.take().expect("piped"),
            "stderr",
            output.clone(),
            echo_output,
        );
        let mut runner = Runner {
            child,
            pid: pgid,
            pgid,
            addr,
            status: None,
            started,
            ready_at: started,
            output,
        };
        let deadline = Instant::now() + ready_timeout;
        loop {
            if let Some(status) = runner.child.try_wait()? {
                runner.status = Some(status);
                let said = runner.output.all();
                let tail = said
                    .iter()
                    .rev()
                    .take(5)
                    .rev()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" | ");
                bail!("the runner command `{command}` exited ({status}) before listening on {addr}; its last output: {tail}");
            }
            if crate::wire::probe(addr).await {
                runner.ready_at = Instant::now();
                if with_parent {
                    runner.pid = child_of(pgid)
                        .with_context(|| format!("no runner process under the shell {pgid}"))?;
                }
                return Ok(runner);
            }
            if Instant::now() >= deadline {
                bail!(
                    "the runner command `{command}` did not listen on {addr} within {}s",
                    ready_timeout.as_secs_f64()
                );
            }
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// The runner's process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The runner's process group id (its memory is summed over the group).
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Where the runner listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How long it took from the start until the port accepted a connection.
    pub fn startup(&self) -> Duration {
        self.ready_at - self.started
    }

    /// When the port first accepted a connection.
    pub fn ready_at(&self) -> Instant {
        self.ready_at
    }

    /// What the runner wrote.
    pub fn output(&self) -> &Output {
        &self.output
    }

    /// Sends `signal` to the runner process (not its group), as RRQ 0.9 would.
    pub fn signal(&self, signal: i32) -> std::io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        // SAFETY: plain syscall on a pid we spawned and have not reaped.
        if unsafe { libc::kill(self.pid, signal) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// SIGKILLs the runner's parent shell (for a runner from [`Runner::start_with_parent`]); the
    /// runner is re-parented and should notice.
    pub fn kill_parent(&mut self) -> std::io::Result<()> {
        // SAFETY: plain syscall on the shell we spawned.
        if unsafe { libc::kill(self.pgid, libc::SIGKILL) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Has the runner process (`pid`, which may not be our child) ended? Gone or a zombie.
    pub fn runner_gone(&self) -> bool {
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            Err(_) => true,
            Ok(stat) => {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    == Some("Z")
            }
        }
    }

    /// Waits up to `wait` for the process we started to exit; its status.
    pub async fn wait(&mut self, wait: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Ok(Ok(status)) = timeout(wait, self.child.wait()).await {
                self.status = Some(status);
            }
        }
        self.status
    }

    /// Has it exited already? (Does not wait.)
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.status = Some(status);
            }
        }
        self.status
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL for the whole process group.
    pub async fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let _ = self.signal(libc::SIGTERM);
        let status = self.wait(grace).await;
        self.kill_group();
        match status {
            Some(status) => Some(status),
            None => self.wait(Duration::from_secs(5)).await,
        }
    }

    /// SIGKILL to every process of the runner's group (the runner and anything it started).
    pub fn kill_group(&self) {
        // SAFETY: plain syscall; ESRCH (group already gone) is fine.
        unsafe {
            libc::killpg(self.pgid, libc::SIGKILL);
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.kill_group();
        if self.pid != self.pgid {
            // SAFETY: plain syscall; the runner may have left its parent's group.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
            }
        }
    }
}

/// The first process whose parent is `ppid`.
fn child_of(ppid: i32) -> Option<i32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if rest
            .split_whitespace()
            .nth(1)
            .and_then(|f| f.parse::<i32>().ok())
            == Some(ppid)
        {
            return Some(pid);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Memory

/// Sum of VmRSS (KiB) over every live process whose process group is `pgid`.
pub fn group_rss_kib(pgid: i32) -> Option<u64> {
    let mut total = 0;
    let mut found = false;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces and parentheses): state ppid pgrp.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if rest
            .split_whitespace()
            .nth(2)
            .and_then(|f| f.parse::<i32>().ok())
            != Some(pgid)
        {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        if let Some(kib) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            total += kib;
            found = true;
        }
    }
    found.then_some(total)
}

/// Samples the group's RSS every 20 ms on a thread of its own, keeping the peak.
pub struct Sampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    pub fn start(pgid: i32) -> Sampler {
        let peak = Arc::new(AtomicU64::new(group_rss_kib(pgid).unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(kib) = group_rss_kib(pgid) {
                    p.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Sampler {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling; the peak seen (KiB).
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}
