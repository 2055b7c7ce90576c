//! Starting a runner the way the RRQ orchestrator does, and stopping it.

use anyhow::{bail, Context, Result};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::os::fd::AsFd;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::{sleep, timeout, Instant};

/// The environment variable RRQ sets to tell a runner where to listen.
pub const TCP_SOCKET_ENV: &str = "RRQ_RUNNER_TCP_SOCKET";

/// A runner process started from a shell command line.
///
/// The command runs as `sh -c 'exec COMMAND'` in its own process group, with
/// `RRQ_RUNNER_TCP_SOCKET=127.0.0.1:PORT`, stdin closed, and its stdout and stderr both sent to
/// this process's stderr (our stdout carries only scenario results). Thanks to the `exec`, the
/// process we signal is the command itself, as when RRQ runs a runner command directly; a
/// wrapper script must `exec` its runner for signals to reach it (as RRQ requires too).
/// Dropping a `Runner` kills its whole process group.
pub struct Runner {
    child: Child,
    pid: i32,
    addr: SocketAddr,
    status: Option<ExitStatus>,
}

/// A free loopback port, found by binding port 0 and letting it go again.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .context("could not bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

impl Runner {
    /// Starts `command` on a free port and waits (up to `ready_timeout`) until the port accepts
    /// connections, probing as RRQ does: connect, then close at once.
    pub async fn start(command: &str, ready_timeout: Duration) -> Result<Runner> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let stdout = std::io::stderr().as_fd().try_clone_to_owned()?;
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("exec {command}"))
            .env(TCP_SOCKET_ENV, addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .with_context(|| format!("could not start the runner command `{command}`"))?;
        let pid = child.id().context("runner exited at once")? as i32;
        let mut runner = Runner { child, pid, addr, status: None };
        let deadline = Instant::now() + ready_timeout;
        loop {
            if let Some(status) = runner.child.try_wait()? {
                runner.status = Some(status);
                bail!("the runner command `{command}` exited ({status}) before listening on {addr}");
            }
            if crate::wire::probe(addr).await {
                return Ok(runner);
            }
            if Instant::now() >= deadline {
                bail!(
                    "the runner command `{command}` did not listen on {addr} within {}s",
                    ready_timeout.as_secs_f64()
                );
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// The runner's process id, which is also its process group id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Where the runner listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `signal` to the runner process (not its group), as RRQ would.
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

    /// Waits up to `wait` for the runner to exit.
    pub async fn wait(&mut self, wait: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Ok(Ok(status)) = timeout(wait, self.child.wait()).await {
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
            libc::killpg(self.pid, libc::SIGKILL);
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.kill_group();
    }
}
