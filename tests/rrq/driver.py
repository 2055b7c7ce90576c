#!/usr/bin/env python3
"""The generated runners under the real RRQ orchestrators (issue #13, item 6).

    driver.py [--rrq V,...] [--runner R,...] [--scenario S,...] [--quick] [--list]

Runs every cell of the matrix RRQ release x runner, one after the other, each in its own
process and Redis database. A cell runs in the virtualenv of its RRQ release (tests/rrq/.venv-V,
made by run.sh), starts `rrq worker run` there with a config written for that release, enqueues
jobs with that release's producer client and reads every verdict back through RRQ: the client's
job status and RRQ's Redis keys (job hash, dead-letter list, active-jobs set), never from the
runner's side. Each scenario prints PASS or FAIL with its reason; the exit status is 1 when any
failed. The environment: RRQ_TEST_REDIS_URL (redis://127.0.0.1:PORT, a server run.sh started),
RRQ_TEST_RUNNER_PYTHON (the interpreter of the Python runners, with orjson for the accelerated
mode); RRQ_TEST_LOGS=DIR keeps each cell's configs and orchestrator logs in DIR. See README.md beside this file for what the scenarios check and what RRQ does.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import dataclasses
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# ---------------------------------------------------------------------------------------------
# The matrix: RRQ releases and runners. Everything that differs between releases is here.


@dataclasses.dataclass(frozen=True)
class Release:
    version: str
    protocol: str
    #: How the runner's address is configured: "tcp_socket" (0.9.x) or "tcp_port" (0.10+).
    address_keys: str
    #: Extra [rrq] settings of this release.
    extra_settings: tuple[str, ...]
    #: How a runner's output line is logged: a regex over the (ANSI-stripped) log line whose
    #: group 1 is the runner's line.
    runner_line: str


RELEASES = {
    "0.9.9": Release(
        version="0.9.9",
        protocol="1",
        address_keys="tcp_socket",
        extra_settings=(),
        runner_line=r"WARN .*\[runner:(?:stdout|stderr)\] (.*)$",
    ),
    "0.11.1": Release(
        version="0.11.1",
        protocol="2",
        address_keys="tcp_port",
        # Without capture_runner_output (default false) 0.10+ lets the runners write straight to
        # its own stdout/stderr; with it, it logs each line (stdout at INFO, stderr at ERROR).
        extra_settings=("capture_runner_output = true", "runner_shutdown_term_grace_seconds = 1.0"),
        runner_line=r'^(\{.*"rrq\.source":"runner".*\})$',
    ),
}

RUNNERS = ("python", "python-accel", "typescript")
#: Runners that run only when named with --runner.
EXTRA_RUNNERS = ("upstream",)

POOL_SIZE = 2
MAX_IN_FLIGHT = 4
MAX_RETRIES = 3
BASE_RETRY_DELAY = 0.1


def run_sh_accepts_protocol(script: Path) -> bool:
    """Whether examples/*/run.sh knows `--protocol 1|2` (it will; today's does not)."""
    return "--protocol" in script.read_text(encoding="utf-8")


def runner_command(runner: str, release: Release) -> tuple[list[str], dict[str, str], str]:
    """The runner's command, its environment and a note on how it was chosen."""
    if runner == "upstream":
        venv = HERE / f".venv-{release.version}"
        return (
            [str(venv / "bin" / "rrq-runner"), "--settings", "upstream_handlers.settings"],
            # The conformance suite's handlers for RRQ's own runner (one copy for both uses).
            {"PYTHONPATH": str(ROOT / "conformance" / "peers")},
            "RRQ's own Python runner",
        )
    if runner.startswith("cmd:"):  # any runner command (a script like examples/*/run.sh)
        lang, script = "python", Path(runner[4:]).resolve()
    else:
        lang = "typescript" if runner == "typescript" else "python"
        script = ROOT / "examples" / lang / "run.sh"
    cmd = [str(script)]
    note = ""
    if release.protocol == "1" and not run_sh_accepts_protocol(script):
        note = "run.sh has no --protocol yet: started without it (today's runners speak only 1)"
    else:
        cmd += ["--protocol", release.protocol]
    env: dict[str, str] = {}
    if lang == "python":
        env["PYTHON"] = os.environ.get("RRQ_TEST_RUNNER_PYTHON", sys.executable)
        env["RRQ_RUNNER_ACCELERATE"] = "1" if runner == "python-accel" else "0"
    return cmd, env, note


def config_toml(release: Release, redis_dsn: str, cmd: list[str], env: dict[str, str], port: int) -> str:
    """An rrq.toml for `release`: one runner "test", short delays so the suite stays fast."""
    q = json.dumps  # a JSON string (ASCII) is a TOML basic string
    lines = [
        "[rrq]",
        f"redis_dsn = {q(redis_dsn)}",
        'default_runner_name = "test"',
        f"default_max_retries = {MAX_RETRIES}",
        "default_job_timeout_seconds = 20",
        f"base_retry_delay_seconds = {BASE_RETRY_DELAY}",
        "max_retry_delay_seconds = 0.5",
        "default_poll_delay_seconds = 0.02",
        "default_lock_timeout_extension_seconds = 5",
        "worker_shutdown_grace_period_seconds = 1.0",
        "runner_connect_timeout_ms = 20000",
        *release.extra_settings,
        "",
        "[rrq.runners.test]",
        'type = "socket"',
        f"cmd = [{', '.join(q(part) for part in cmd)}]",
    ]
    if release.address_keys == "tcp_socket":
        lines.append(f'tcp_socket = "127.0.0.1:{port}"')
    else:
        lines += ['tcp_host = "127.0.0.1"', f"tcp_port = {port}"]
    lines += [f"pool_size = {POOL_SIZE}", f"max_in_flight = {MAX_IN_FLIGHT}"]
    if env:
        lines.append("env = { " + ", ".join(f"{key} = {q(value)}" for key, value in sorted(env.items())) + " }")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Processes


def proc_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (ppid, state, command line) of every process."""
    table: dict[int, tuple[int, str, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        table[int(entry)] = (int(fields[1]), fields[0], cmdline.strip())
    return table


def descendants(pid: int) -> list[tuple[int, int, str]]:
    """The living descendants of `pid`: (pid, ppid, command line), parents first."""
    table = proc_table()
    found: list[tuple[int, int, str]] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop(0)
        for child, (ppid, state, cmdline) in sorted(table.items()):
            if ppid == parent and state != "Z":
                found.append((child, ppid, cmdline))
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    reap(pid)


def become_subreaper() -> None:
    """Orphans of the orchestrators we start are handed to us: we can find and reap them."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def free_port_range(span: int) -> int:
    """A port p with p..p+span-1 all free on 127.0.0.1."""
    for _ in range(200):
        base = random.randrange(20000, 60000 - span)
        sockets = []
        try:
            for port in range(base, base + span):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free port range")


ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Worker:
    """One `rrq worker run`, its log and its runners."""

    def __init__(self, cell: Cell, config: Path, name: str) -> None:
        self.cell = cell
        self.config = config
        self.log_path = cell.tmp / f"{name}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed by stop())
        import rrq  # of the release's virtualenv: its binary

        binary = Path(rrq.__file__).parent / "bin" / "rrq"
        env = {key: value for key, value in os.environ.items() if not key.startswith("RRQ_")}
        self.proc = subprocess.Popen(
            [str(binary), "worker", "run", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=cell.tmp,
            env=env,
        )
        self.pid = self.proc.pid
        self.seen_runners: set[int] = set()

    def text(self) -> str:
        return ANSI.sub("", self.log_path.read_text(encoding="utf-8", errors="replace"))

    def tail(self, lines: int = 12) -> str:
        return "\n".join("      | " + line[:300] for line in self.text().splitlines()[-lines:])

    def wait_ready(self, timeout: float = 45.0) -> str | None:
        """None when the worker started (its runners are up), else why not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "worker started" in self.text():
                self.runners()
                return None
            if self.proc.poll() is not None:
                return self.failure(f"`rrq worker run` exited with status {self.proc.returncode}")
            time.sleep(0.05)
        return self.failure(f"`rrq worker run` not ready after {timeout:.0f} s")

    def runners(self) -> list[tuple[int, int, str]]:
        """The processes under the orchestrator (the runners, and whatever they started)."""
        found = descendants(self.pid)
        self.seen_runners.update(pid for pid, _, _ in found)
        return found

    def runner_lines(self) -> list[str]:
        """What the runners printed, as the orchestrator logged it."""
        pattern = re.compile(self.cell.release.runner_line)
        lines = []
        for line in self.text().splitlines():
            m = pattern.search(line)
            if m:
                text = m.group(1)
                if text.startswith("{"):  # 0.10+: a JSON event; the runner's line is its message
                    try:
                        text = str(json.loads(text).get("message", text))
                    except ValueError:
                        pass
                lines.append(text)
        return lines

    def failure(self, intro: str) -> str:
        """Why the worker did not start: its error and the runners' last words."""
        text = self.text()
        error = next((line for line in text.splitlines() if line.startswith("Error:")), None)
        said = list(dict.fromkeys(self.runner_lines()))[:4]
        if error is None and not said:
            return f"{intro}:\n{self.tail()}"
        parts = [intro + (f": {error}" if error else "")]
        if said:
            parts.append("the runner said: " + " / ".join(line.strip() for line in said))
        return "; ".join(parts)

    def worker_id(self) -> str | None:
        m = re.search(r"rrq_worker_\d+_[0-9a-f]+", self.text())
        return m.group(0) if m else None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL; then SIGKILL whatever it left behind."""
        if self.proc.poll() is None:
            self.runners()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=6)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.seen_runners:
            if alive(pid):
                kill(pid)
            reap(pid)
        self.log.close()


# ---------------------------------------------------------------------------------------------
# Scenarios


class Failed(Exception):
    pass


def check(condition: object, reason: str) -> None:
    if not condition:
        raise Failed(reason)


def canonical(value: object) -> str:
    """A JSON text that tells 1 from 1.0 and 0.0 from -0.0 (dict order does not matter)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def nested(depth: int) -> object:
    value: object = "bottom ✓"
    for level in range(depth):
        value = {"level": level, "down": [value]} if level % 2 else [level, value]
    return value


ECHO_PARAMS: dict[str, Any] = {
    "unicode": 'héllo wörld ☃ 😀 𝄞 \u2028\u2029 "quoted" back\\slash\ttab\nline',
    "controls": "\u0000\u0001\u001f\u007f",
    "keys": {"é": 1, "a": 2, "Z": 3, "😀": 4, "": 5, "10": 6, "9": 7},
    "big_integers": [2**63 - 1, -(2**63), 2**64 - 1, 2**53 + 1, -(2**53 + 1), 0, -1],
    "floats": [0.1, -0.0, 1.0, -2.5, 1e300, 1.5e-7, 1e21, 1e-7, 123456.789, 2.2250738585072014e-308],
    "nested": nested(40),
    "empties": [{}, [], "", None, True, False],
}
ECHO_ARGS: list[Any] = ["positional ✓", 2**63 - 1, 1.0, [None, {"x": -0.0}]]


@dataclasses.dataclass
class Result:
    scenario: str
    passed: bool
    reason: str
    seconds: float


class Cell:
    def __init__(self, release: Release, runner: str, redis_url: str, db: int, tmp: Path) -> None:
        import redis  # of the release's virtualenv
        from rrq.client import RRQClient

        self.release = release
        self.runner = runner
        self.tmp = tmp
        self.venv = HERE / f".venv-{release.version}"
        self.dsn = f"{redis_url}/{db}"
        self.redis = redis.Redis.from_url(self.dsn, decode_responses=True)
        self.redis.flushdb()
        self.client = RRQClient(config={"redis_dsn": self.dsn})
        self.cmd, self.env, self.note = runner_command(runner, release)
        self.workers: list[Worker] = []
        self.worker: Worker | None = None

    # set-up

    def write_config(self, name: str) -> Path:
        port = free_port_range(POOL_SIZE + 8)
        path = self.tmp / f"{name}.toml"
        path.write_text(config_toml(self.release, self.dsn, self.cmd, self.env, port), encoding="utf-8")
        return path

    def start_worker(self, config: Path, name: str) -> Worker:
        worker = Worker(self, config, name)
        self.workers.append(worker)
        return worker

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        # Anything still under us (orphans handed to us as subreaper): end it.
        for pid, _, _ in reversed(descendants(os.getpid())):
            kill(pid)
        self.redis.flushdb()

    # jobs

    def inputs(self, params: dict[str, Any], args: list[Any] | None = None) -> dict[str, Any]:
        """The enqueue options carrying a job's arguments in this release's form."""
        if self.release.protocol == "1":
            return {"args": list(args or []), "kwargs": params}
        check(not args, "positional arguments exist only in protocol 1")
        return {"params": params}

    async def enqueue(self, function: str, params: dict[str, Any] | None = None, **options: Any) -> str:
        opts = dict(options)
        opts.update(self.inputs(params or {}, opts.pop("args", None)))
        return await self.client.enqueue(function, opts)

    def job(self, job_id: str) -> dict[str, str]:
        return self.redis.hgetall(f"rrq:job:{job_id}")

    def dlq(self) -> list[str]:
        return self.redis.lrange("rrq:dlq:default", 0, -1)

    async def wait_status(self, job_id: str, statuses: set[str], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job.get("status") in statuses:
                return job
            if time.monotonic() >= deadline:
                raise Failed(f"job {function_of(job)} not {'/'.join(sorted(statuses))} after {timeout} s: {brief(job)}")
            await asyncio.sleep(0.01)

    async def wait_done(self, job_id: str, timeout: float) -> dict[str, str]:
        return await self.wait_status(job_id, {"COMPLETED", "FAILED"}, timeout)

    async def status(self, job_id: str) -> Any:
        result = await self.client.get_job_status(job_id)
        check(result is not None, f"the client finds no job {job_id}")
        return result

    async def echo_works(self, timeout: float = 15.0) -> None:
        job_id = await self.enqueue("echo", {"probe": "after"})
        job = await self.wait_done(job_id, timeout)
        check(job.get("status") == "COMPLETED", f"a later echo job did not complete: {brief(job)}")

    # the scenarios

    async def s_quiet_start(self, worker: Worker) -> str:
        lines = worker.runner_lines()
        if lines:
            raise Failed(f"the runners printed {len(lines)} line(s) at start, e.g. {lines[0][:160]!r}")
        return "the runners printed nothing at start"

    async def s_process_tree(self, worker: Worker) -> str:
        tree = worker.runners()
        check(len(tree) >= POOL_SIZE, f"{len(tree)} process(es) under the orchestrator, expected {POOL_SIZE}")
        for _, ppid, cmd in tree:
            if re.match(r"^(\S*/)?(ba|da)?sh\b", cmd):
                raise Failed(f"a shell stands between the orchestrator and the runner: {short(cmd)!r}")
            if ppid != worker.pid:
                raise Failed(f"a runner started a process of its own: {short(cmd)!r}")
        return f"{len(tree)} runners, each a direct child of the orchestrator: {short(tree[0][2])}"

    async def s_echo(self, worker: Worker) -> str:
        args = ECHO_ARGS if self.release.protocol == "1" else None
        job_id = await self.enqueue("echo", ECHO_PARAMS, args=args)
        job = await self.wait_done(job_id, 10)
        check(job["status"] == "COMPLETED", f"status {job['status']}: {brief(job)}")
        status = await self.status(job_id)
        if self.release.protocol == "1":
            expected: object = {"args": ECHO_ARGS, "kwargs": ECHO_PARAMS}
        else:
            expected = {"params": ECHO_PARAMS}
        got = status.result
        if canonical(got) != canonical(expected):
            raise Failed(f"the result differs from the arguments: {first_difference(expected, got)}")
        stored = json.loads(job["result"])
        check(canonical(stored) == canonical(expected), "the result in the job hash differs from the client's")
        check(job.get("current_retries") == "0", f"current_retries {job.get('current_retries')}")
        return "unicode, big integers, floats, 40 levels of nesting come back unchanged"

    async def s_fail_dlq(self, worker: Worker) -> str:
        message = "boom: ünïcode ☃ and 😀"
        before = time.monotonic()
        job_id = await self.enqueue("fail", {"message": message}, max_retries=MAX_RETRIES)
        job = await self.wait_done(job_id, 15)
        took = time.monotonic() - before
        check(job["status"] == "FAILED", f"status {job['status']}")
        status = await self.status(job_id)
        check(message in (status.last_error or ""), f"last_error {status.last_error!r} lacks the message")
        check(job.get("current_retries") == str(MAX_RETRIES), f"{job.get('current_retries')} attempts, expected {MAX_RETRIES}")
        check(job_id in self.dlq(), "not in the dead-letter queue")
        return f"{MAX_RETRIES} attempts, then dead-lettered ({took:.2f} s), last_error {status.last_error!r}"

    async def s_not_found(self, worker: Worker) -> str:
        job_id = await self.enqueue("no_such_handler", {}, max_retries=MAX_RETRIES)
        job = await self.wait_done(job_id, 10)
        check(job["status"] == "FAILED", f"status {job['status']}")
        check(job.get("current_retries") == "1", f"{job.get('current_retries')} attempts, expected 1 (no retry)")
        check(job_id in self.dlq(), "not in the dead-letter queue")
        return f"dead-lettered after 1 attempt: {job.get('last_error')!r}"

    async def s_retry_after(self, worker: Worker) -> str:
        seconds = 1.0
        job_id = await self.enqueue("retry", {"seconds": seconds}, max_retries=2)
        starts: list[str] = []
        deadline = time.monotonic() + 10
        while True:
            job = self.job(job_id)
            start = job.get("start_time")
            if start and start not in starts:
                starts.append(start)
            if job.get("status") in ("COMPLETED", "FAILED"):
                break
            check(time.monotonic() < deadline, f"not finished after 10 s: {brief(job)}")
            await asyncio.sleep(0.005)
        check(job["status"] == "FAILED" and job_id in self.dlq(), f"expected dead-lettered after 2 attempts: {brief(job)}")
        check(job.get("current_retries") == "2", f"{job.get('current_retries')} attempts, expected 2")
        check(len(starts) == 2, f"saw {len(starts)} attempt start(s): {starts}")
        gap = parse_time(starts[1]) - parse_time(starts[0])
        check(gap >= seconds - 0.005, f"the second attempt started {gap:.3f} s after the first, before retry_after_seconds = {seconds}")
        check(gap < seconds + 2.5, f"the second attempt started only {gap:.3f} s after the first")
        return f"second attempt {gap:.3f} s after the first (retry_after_seconds = {seconds}; backoff would be {BASE_RETRY_DELAY} s)"

    async def s_timeout(self, worker: Worker) -> str:
        before_pids = {pid for pid, _, _ in worker.runners()}
        started = time.monotonic()
        job_id = await self.enqueue("sleep", {"seconds": 5}, job_timeout_seconds=1, max_retries=MAX_RETRIES)
        job = await self.wait_done(job_id, 8)
        took = time.monotonic() - started
        check(job["status"] == "FAILED", f"status {job['status']}: {brief(job)}")
        check(job_id in self.dlq(), "not in the dead-letter queue")
        check(job.get("current_retries") == "1", f"{job.get('current_retries')} attempts, expected 1 (a timeout is not retried)")
        check(took < 4.5, f"ended {took:.2f} s after enqueue (job_timeout_seconds = 1)")
        await self.echo_works()
        after_pids = {pid for pid, _, _ in worker.runners()}
        replaced = sorted(before_pids - after_pids)
        how = (
            f"the runner process was replaced ({len(replaced)} new)"
            if replaced
            else "no runner process was replaced"
        )
        return f"dead-lettered after {took:.2f} s with {job.get('last_error')!r}; {how}; the pool still serves"

    async def s_load(self, worker: Worker, count: int = 100) -> str:
        dlq_before = len(self.dlq())
        started = time.monotonic()
        if self.release.protocol == "1":
            ids = [await self.enqueue("echo", {"i": i}, args=[i]) for i in range(count)]
        else:
            ids = [await self.enqueue("echo", {"i": i}) for i in range(count)]
        enqueued = time.monotonic()
        worker_id = worker.worker_id()
        peak = 0
        deadline = time.monotonic() + 30
        pending = set(ids)
        while pending:
            if worker_id:
                peak = max(peak, self.redis.zcard(f"rrq:active:jobs:{worker_id}"))
            pipe = self.redis.pipeline()
            ordered = sorted(pending)
            for job_id in ordered:
                pipe.hget(f"rrq:job:{job_id}", "status")
            for job_id, status in zip(ordered, pipe.execute()):
                if status in ("COMPLETED", "FAILED"):
                    pending.discard(job_id)
            check(time.monotonic() < deadline, f"{len(pending)} of {count} jobs unfinished after 30 s")
            if pending:
                await asyncio.sleep(0.01)
        took = time.monotonic() - started
        problems = []
        for i, job_id in enumerate(ids):
            job = self.job(job_id)
            expected = {"args": [i], "kwargs": {"i": i}} if self.release.protocol == "1" else {"params": {"i": i}}
            if job.get("status") != "COMPLETED":
                problems.append(f"job {i}: {brief(job)}")
            elif canonical(json.loads(job["result"])) != canonical(expected):
                problems.append(f"job {i}: result {job['result']}")
            elif job.get("current_retries") != "0":
                problems.append(f"job {i}: {job.get('current_retries')} retries")
        check(not problems, f"{len(problems)} of {count} jobs wrong, e.g. {problems[0] if problems else ''}")
        check(len(self.dlq()) == dlq_before, "jobs were dead-lettered")
        check(peak <= POOL_SIZE * MAX_IN_FLIGHT, f"{peak} jobs active at once, above {POOL_SIZE} x {MAX_IN_FLIGHT}")
        return (
            f"{count} jobs completed once each with their own result in {took:.2f} s "
            f"(enqueue {enqueued - started:.2f} s), at most {peak} active at once"
        )

    async def s_load_quick(self, worker: Worker) -> str:
        return await self.s_load(worker, count=20)

    async def s_runner_sigkill(self, worker: Worker) -> str:
        job_id = await self.enqueue("sleep", {"seconds": 1.0}, max_retries=MAX_RETRIES)
        await self.wait_status(job_id, {"ACTIVE"}, 5)
        await asyncio.sleep(0.2)
        victims = [pid for pid, _, _ in worker.runners()]
        for pid in victims:
            kill(pid)
        job = await self.wait_done(job_id, 15)
        check(job["status"] == "COMPLETED", f"status {job['status']}: {brief(job)}")
        status = await self.status(job_id)
        check(canonical(status.result) == canonical({"slept": 1.0}), f"result {status.result!r}")
        check(int(job.get("current_retries", "0")) >= 1, "completed without a retry: was the runner killed mid-job?")
        await self.echo_works()
        survivors = [pid for pid in victims if alive(pid)]
        check(not survivors, f"killed runners still alive: {survivors}")
        fresh = [pid for pid, _, _ in worker.runners() if pid not in victims]
        check(fresh, "no runner process after the kill")
        return (
            f"killed {len(victims)} runners mid-job; restarted ({len(fresh)} new), job completed on attempt "
            f"{int(job['current_retries']) + 1} after {job.get('last_error')!r}"
        )

    async def s_orchestrator_sigkill(self, _unused: Worker | None) -> str:
        config = self.write_config("orphans")
        worker = self.start_worker(config, "orphans")
        failure = worker.wait_ready()
        check(failure is None, f"the worker did not start: {failure}")
        job_id = await self.enqueue("sleep", {"seconds": 5})
        await self.wait_status(job_id, {"ACTIVE"}, 5)
        runners = [pid for pid, _, _ in worker.runners()]
        check(runners, "no runner under the orchestrator")
        killed_at = time.monotonic()
        worker.proc.kill()
        worker.proc.wait()
        exited: dict[int, float] = {}
        while time.monotonic() - killed_at < 1.5 and len(exited) < len(runners):
            for pid in runners:
                if pid not in exited and not alive(pid):
                    exited[pid] = time.monotonic() - killed_at
                    reap(pid)
            await asyncio.sleep(0.01)
        late = {pid: t for pid, t in exited.items() if t > 1.0}
        survivors = [pid for pid in runners if pid not in exited]
        if not survivors and not late:
            worst = max(exited.values())
            # The next worker on the same config must find its ports free.
            again = self.start_worker(config, "orphans-again")
            failure = again.wait_ready(30)
            again.stop()
            check(failure is None, f"the runners exited, yet the next worker did not start: {failure}")
            return f"all {len(runners)} runners exited within {worst:.2f} s of the SIGKILL; the next worker starts"
        # Say what a user sees: the next `rrq worker run` on the same config.
        again = self.start_worker(config, "orphans-again")
        failure = again.wait_ready(20)
        again.stop()
        table = proc_table()
        left = ", ".join(f"pid {pid} (now child of {table[pid][0]})" for pid in survivors if pid in table)
        for pid in survivors:
            kill(pid)
        symptom = "the next `rrq worker run` on the same config " + (
            f"fails: {first_line_with(again.text(), 'in use') or failure.splitlines()[0]}" if failure else "starts anyway"
        )
        if late and not survivors:
            raise Failed(f"runners took {max(late.values()):.2f} s (> 1 s) to exit after the orchestrator's SIGKILL")
        raise Failed(
            f"{len(survivors)} of {len(runners)} runners still run 1.5 s after the orchestrator's SIGKILL: {left}; {symptom}"
        )


    async def s_otel_trace(self, worker: Worker | None) -> str:
        """Tracing on (tests/rrq/otel_handlers.py, .mjs): a job enqueued with a W3C trace context comes
        out as one `rrq.runner` span of that trace, parented by the producer's span, with the
        handler running inside it; a job without one gets a root span; a failing job an error
        span. If the orchestrator does not forward the trace context, the span must be a root."""
        spans_dir = self.tmp / "otel-spans"
        spans_dir.mkdir(exist_ok=True)
        if self.runner == "typescript":
            cmd = [*self.cmd, "--handlers", str(HERE / "otel_handlers.mjs")]
        else:
            cmd = [*self.cmd, "--handlers", f"otel_handlers:registry_v{self.release.protocol}"]
        env = {**self.env, "PYTHONPATH": str(HERE), "RRQ_TEST_OTEL_DIR": str(spans_dir), "RRQ_TEST_PROTOCOL": self.release.protocol}
        config = self.tmp / "otel.toml"
        config.write_text(config_toml(self.release, self.dsn, cmd, env, free_port_range(POOL_SIZE + 8)), encoding="utf-8")
        worker = self.start_worker(config, "otel")
        failure = worker.wait_ready()
        check(failure is None, f"the traced runner did not start: {failure}")
        trace_id, parent_id = f"{random.getrandbits(128):032x}", f"{random.getrandbits(64):016x}"
        carrier = {"traceparent": f"00-{trace_id}-{parent_id}-01"}
        traced = await self.enqueue("trace_seen", {}, trace_context=carrier)
        plain = await self.enqueue("echo", {"probe": "untraced"})
        failing = await self.enqueue("fail", {"message": "traced failure"}, trace_context=carrier, max_retries=1)
        jobs = {job_id: await self.wait_done(job_id, 15) for job_id in (traced, plain, failing)}
        check(jobs[traced]["status"] == "COMPLETED", f"trace_seen: {brief(jobs[traced])}")
        check(jobs[failing]["status"] == "FAILED", f"fail: {brief(jobs[failing])}")
        seen = (await self.status(traced)).result
        worker.stop()  # the runners are gone: every span was written when it ended
        spans: dict[str, list[dict[str, Any]]] = {}
        for path in spans_dir.glob("spans-*.jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                span = json.loads(line)
                if span["name"] == "rrq.runner":
                    spans.setdefault(span["attributes"].get("rrq.job_id"), []).append(span)
        for job_id in jobs:
            check(len(spans.get(job_id, [])) == 1, f"{len(spans.get(job_id, []))} rrq.runner spans for job {function_of(jobs[job_id])}")
        span, root, failed = spans[traced][0], spans[plain][0], spans[failing][0]
        check(span["kind"] == "CONSUMER" and span["attributes"].get("rrq.outcome") == "success", f"traced span: {span}")
        check(root["parent_id"] is None and root["trace_id"] != trace_id, f"the untraced job's span is not a root: {root}")
        check(failed["status"] == "ERROR" and failed["attributes"].get("rrq.outcome") == "error", f"failing span: {failed}")
        check(failed["attributes"].get("rrq.error_message", "").endswith("traced failure"), f"failing span: {failed}")
        received = (seen or {}).get("carrier") or {}
        if "traceparent" not in received:
            check(span["parent_id"] is None, f"no trace context reached the runner, yet its span has a parent: {span}")
            return f"RRQ {self.release.version} does not forward the trace context (received {received!r}): root spans"
        check(span["trace_id"] == trace_id, f"the span is in trace {span['trace_id']}, the producer's is {trace_id}")
        check(span["parent_id"] == parent_id, f"the span's parent is {span['parent_id']}, the producer's span is {parent_id}")
        check(failed["trace_id"] == trace_id, "the failing job's span is not in the producer's trace")
        check(seen.get("current_trace_id") == trace_id, f"the handler ran outside the span: {seen}")
        attributes = span["attributes"]
        check(attributes.get("rrq.worker_id") == jobs[traced].get("worker_id"), f"rrq.worker_id {attributes.get('rrq.worker_id')!r}")
        return (
            f"parented by the producer's span {parent_id} in trace {trace_id[:8]}…, the handler inside it; "
            f"queue {attributes.get('rrq.queue')!r}, attempt {attributes.get('rrq.attempt')}, "
            f"waited {float(attributes.get('rrq.queue_wait_ms', 0)):.0f} ms; untraced job: a root span; failing job: an error span"
        )


SCENARIOS: list[tuple[str, str, bool]] = [
    # (name, method, in --quick)
    ("quiet_start", "s_quiet_start", True),
    ("process_tree", "s_process_tree", True),
    ("echo", "s_echo", True),
    ("fail_retries_dlq", "s_fail_dlq", True),
    ("handler_not_found_dlq", "s_not_found", True),
    ("retry_after", "s_retry_after", False),
    ("job_timeout", "s_timeout", False),
    ("load_100", "s_load", False),
    ("load_20", "s_load_quick", True),
    ("runner_sigkill", "s_runner_sigkill", False),
    ("orchestrator_sigkill", "s_orchestrator_sigkill", False),
    ("otel_trace", "s_otel_trace", True),
]
DEFAULT_SCENARIOS = [name for name, _, _ in SCENARIOS if name != "load_20"]
QUICK_SCENARIOS = [name for name, _, quick in SCENARIOS if quick]
#: Scenarios that start their own orchestrator (run after the shared one is stopped).
OWN_WORKER = {"orchestrator_sigkill", "otel_trace"}
#: Scenarios only some runners can run (the others' cells leave them out).
ONLY_FOR = {"otel_trace": ("python", "python-accel", "typescript")}


def function_of(job: dict[str, str]) -> str:
    return job.get("function_name", "?")


def brief(job: dict[str, str]) -> str:
    keys = ("function_name", "status", "current_retries", "last_error", "result")
    return json.dumps({key: job[key] for key in keys if key in job}, ensure_ascii=False)[:400]


def short(cmd: str) -> str:
    return cmd if len(cmd) <= 90 else cmd[:87] + "..."


def first_line_with(text: str, needle: str) -> str | None:
    for line in text.splitlines():
        if needle in line:
            return line.strip(" |")[:240]
    return None


def parse_time(text: str) -> float:
    """RFC 3339 (as RRQ writes it, up to nanoseconds) to seconds since the epoch."""
    from datetime import datetime

    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if not m:
        raise Failed(f"unexpected timestamp {text!r}")
    whole = datetime.fromisoformat(m.group(1) + (m.group(3) if m.group(3) != "Z" else "+00:00"))
    return whole.timestamp() + float("0." + (m.group(2) or "0"))


def first_difference(expected: object, got: object, path: str = "$") -> str:
    if type(expected) is not type(got):
        return f"at {path}: expected {canonical(expected)[:80]}, got {canonical(got)[:80]}"
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(set(expected) | set(got)):
            if key not in got or key not in expected:
                return f"at {path}: key {key!r} {'missing' if key not in got else 'extra'}"
            if canonical(expected[key]) != canonical(got[key]):
                return first_difference(expected[key], got[key], f"{path}.{key}")
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return f"at {path}: {len(got)} items, expected {len(expected)}"
        for index, (a, b) in enumerate(zip(expected, got)):
            if canonical(a) != canonical(b):
                return first_difference(a, b, f"{path}[{index}]")
    return f"at {path}: expected {canonical(expected)[:80]}, got {canonical(got)[:80]}"


# ---------------------------------------------------------------------------------------------
# A cell (in the release's virtualenv)


def preflight(cell: Cell) -> str | None:
    """Checks what the runner command needs before RRQ starts it; None when fine."""
    if cell.runner.startswith("python"):
        want = cell.runner == "python-accel"
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); import rrq_runner; "
            "print(getattr(rrq_runner, 'ACCELERATED', 'unknown'))"
        )
        env = dict(os.environ, RRQ_RUNNER_ACCELERATE=cell.env["RRQ_RUNNER_ACCELERATE"])
        out = subprocess.run(
            [cell.env["PYTHON"], "-c", code, str(ROOT / "generated" / "python")],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )
        if out.returncode != 0:
            return f"the runner's interpreter cannot import rrq_runner: {out.stderr.strip()[-300:]}"
        if out.stdout.strip() not in (str(want), "unknown"):
            return f"rrq_runner.ACCELERATED is {out.stdout.strip()} in mode {cell.runner} (want {want}): is orjson installed?"
    if cell.runner == "typescript" and not (ROOT / "generated" / "typescript" / "dist" / "cli.js").exists():
        return "generated/typescript is not built: run examples/typescript/run.sh --help once (run.sh does)"
    return None


async def run_cell(release: Release, runner: str, scenarios: list[str], redis_url: str, db: int) -> list[Result]:
    label = f"rrq {release.version} / {runner}"
    results: list[Result] = []

    def report(name: str, passed: bool, reason: str, seconds: float = 0.0) -> None:
        results.append(Result(name, passed, reason, seconds))
        mark = "PASS" if passed else "FAIL"
        print(f"  {mark}  {label:<26} {name:<22} {seconds:5.2f}s  {reason}", flush=True)

    slug = f"{release.version}-{re.sub(r'[^A-Za-z0-9.]+', '_', runner).strip('_')}"
    with tempfile.TemporaryDirectory(prefix=f"rrq-{slug}-") as tmp:
        cell = Cell(release, runner, redis_url, db, Path(tmp))
        try:
            print(f"== {label}: {' '.join(cell.cmd)}" + (f"  [{cell.note}]" if cell.note else ""), flush=True)
            problem = preflight(cell)  # why the scenarios cannot run, once known ("!": none can)
            if problem is not None:
                problem = "!" + problem
            problem_told = False
            worker: Worker | None = None
            main_started = False
            methods = {n: m for n, m, _ in SCENARIOS}
            for name in [n for n in scenarios if runner in ONLY_FOR.get(n, (runner,))]:
                if name in OWN_WORKER:
                    if worker is not None:
                        worker.stop()
                        worker = None
                elif worker is None and problem is None and not main_started:
                    main_started = True
                    started = time.monotonic()
                    worker = cell.start_worker(cell.write_config("main"), "main")
                    problem = worker.wait_ready()
                    if problem is None:
                        print(f"   worker and {POOL_SIZE} runners up in {time.monotonic() - started:.2f} s", flush=True)
                    else:
                        worker = None
                if problem is not None and (name not in OWN_WORKER or problem.startswith("!")):
                    report(name, False, "not run: " + (problem.lstrip("!") if not problem_told else "(see above)"))
                    problem_told = True
                    continue
                started = time.monotonic()
                try:
                    reason = await asyncio.wait_for(getattr(cell, methods[name])(worker), 60)
                    report(name, True, reason, time.monotonic() - started)
                except Failed as exc:
                    report(name, False, str(exc), time.monotonic() - started)
                except Exception as exc:  # noqa: BLE001 (a bug of the scenario, or RRQ's client failing)
                    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                    report(name, False, f"error: {detail}", time.monotonic() - started)
                if worker is not None and worker.proc.poll() is not None:
                    problem = f"the worker died (status {worker.proc.returncode}):\n{worker.tail()}"
                    problem_told = False
                    worker = None
        finally:
            cell.close()
            keep = os.environ.get("RRQ_TEST_LOGS")
            if keep:  # keep the configs and the orchestrators' logs
                shutil.copytree(tmp, Path(keep) / slug, dirs_exist_ok=True)
    return results


def cell_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="driver.py cell")
    parser.add_argument("--rrq", required=True, choices=sorted(RELEASES))
    parser.add_argument("--runner", required=True)
    parser.add_argument("--scenarios", required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--db", type=int, required=True)
    parser.add_argument("--results", required=True)
    args = parser.parse_args(argv)
    become_subreaper()
    results = asyncio.run(
        run_cell(RELEASES[args.rrq], args.runner, args.scenarios.split(","), args.redis, args.db)
    )
    Path(args.results).write_text(json.dumps([dataclasses.asdict(r) for r in results]), encoding="utf-8")
    return 0 if all(r.passed for r in results) else 1


# ---------------------------------------------------------------------------------------------
# The matrix (any Python)


def split(values: list[str] | None, default: list[str], allowed: list[str], what: str, free_prefix: str = "") -> list[str]:
    chosen = [item for value in values for item in value.split(",") if item] if values else default
    for item in chosen:
        if item not in allowed and not (free_prefix and item.startswith(free_prefix)):
            raise SystemExit(f"driver.py: unknown {what} {item!r} (known: {', '.join(allowed)})")
    return chosen


def main(argv: list[str]) -> int:
    if argv[:1] == ["cell"]:
        return cell_main(argv[1:])
    parser = argparse.ArgumentParser(prog="driver.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rrq", action="append", help="RRQ releases (default: all)")
    parser.add_argument(
        "--runner",
        action="append",
        help=f"runners (default: {','.join(RUNNERS)}; also: {','.join(EXTRA_RUNNERS)}, "
        "or cmd:PATH for any runner command, started like examples/python/run.sh)",
    )
    parser.add_argument("--scenario", action="append", help="scenarios (default: all)")
    parser.add_argument("--quick", action="store_true", help=f"only {','.join(QUICK_SCENARIOS)}")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--cell-timeout", type=float, default=240.0)
    args = parser.parse_args(argv)
    names = [name for name, _, _ in SCENARIOS]
    if args.list:
        for name, _, quick in SCENARIOS:
            print(f"{name}{'  (--quick)' if quick else ''}")
        return 0
    releases = split(args.rrq, list(RELEASES), list(RELEASES), "RRQ release")
    runners = split(args.runner, list(RUNNERS), list(RUNNERS + EXTRA_RUNNERS), "runner", free_prefix="cmd:")
    scenarios = split(args.scenario, QUICK_SCENARIOS if args.quick else DEFAULT_SCENARIOS, names, "scenario")
    redis_url = os.environ.get("RRQ_TEST_REDIS_URL")
    if not redis_url:
        raise SystemExit("driver.py: set RRQ_TEST_REDIS_URL (run.sh starts a Redis server and sets it)")

    become_subreaper()
    cells = [(release, runner) for release in releases for runner in runners]
    table: dict[tuple[str, str], dict[str, bool]] = {}
    failed_cells = []
    with tempfile.TemporaryDirectory(prefix="rrq-matrix-") as tmp:
        for index, (release, runner) in enumerate(cells):
            python = HERE / f".venv-{release}" / "bin" / "python"
            results_file = Path(tmp) / f"{index}.json"
            argv_cell = [
                str(python), str(Path(__file__).resolve()), "cell", "--rrq", release, "--runner", runner,
                "--scenarios", ",".join(scenarios), "--redis", redis_url, "--db", str(index % 16),
                "--results", str(results_file),
            ]
            proc = subprocess.Popen(argv_cell, start_new_session=True)
            try:
                proc.wait(timeout=args.cell_timeout)
            except subprocess.TimeoutExpired:
                print(f"  FAIL  rrq {release} / {runner}: the cell did not finish in {args.cell_timeout:.0f} s", flush=True)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                else:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)  # anything left in its process group
                    except ProcessLookupError:
                        pass
                for pid, _, _ in reversed(descendants(os.getpid())):  # orphans handed to us
                    kill(pid)
            if results_file.exists():
                table[(release, runner)] = {r["scenario"]: r["passed"] for r in json.loads(results_file.read_text())}
            else:
                failed_cells.append(f"{release}/{runner}")
                table[(release, runner)] = {}

    # Summary: scenarios x cells.
    columns = [f"{release}/{runner}" for release, runner in cells]
    width = max(len(name) for name in scenarios) + 2
    print("\n== summary (PASS / FAIL / - not run / n/a: not for this runner)")
    print(" " * width + "  ".join(f"{c:<20}" for c in columns))
    passed = failed = 0
    for name in scenarios:
        row = []
        for cell in cells:
            verdict = table[cell].get(name)
            if cell[1] not in ONLY_FOR.get(name, (cell[1],)):
                row.append(f"{'n/a':<20}")
                continue
            if verdict is True:
                passed += 1
            else:
                failed += 1
            row.append(f"{'PASS' if verdict else ('FAIL' if verdict is False else '-'):<20}")
        print(f"{name:<{width}}" + "  ".join(row))
    if failed_cells:
        print(f"cells that crashed: {', '.join(failed_cells)}")
    print(f"rrq: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
