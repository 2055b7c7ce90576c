{{ header }}
/**
 * Parent watch: the runner ends when the process that started it dies.
 *
 * An orchestrator that is killed with SIGKILL cannot stop its runners. Without a watch every
 * runner stays behind as an orphan that still holds its port, and the next orchestrator cannot
 * start a runner there ("port already in use"). {@link watchParent} notices the death of the
 * parent process within one second and calls back, so that the runner shuts down:
 *
 * - every `intervalMs` (250 ms by default) an unref'd timer compares `process.ppid` (read afresh
 *   each time) with the parent's PID, recorded when the watch starts. When the parent dies the
 *   kernel hands its orphans to init or to the nearest "child subreaper", so the value changes.
 *   Node has no `prctl`, so there is no parent-death signal: polling is the whole mechanism, and
 *   a handler that blocks the event loop delays it (as it delays everything else);
 * - when the parent is gone, `onParentDeath` is called once. If the process still runs
 *   `exitAfterMs` later (500 ms by default: a handler that ignores its abort signal, a socket
 *   that waits on a dead peer), the watch ends it with `process.exit(exitCode)` (1 by default).
 *   An exception thrown by `onParentDeath` ends the process at once, with the same code.
 *
 * The timers are unref'd: the watch never keeps the process alive. It writes nothing: once the
 * parent is gone the runner's stdout and stderr are usually pipes that nobody reads. It is a
 * no-op where there is no parent to watch (a parent PID of 0).
 *
 * The runner must be the direct child of the orchestrator, so a script that starts it must
 * `exec` it: a shell left between the two outlives the orchestrator as the runner's parent.
 *
 * @module
 */

/** Milliseconds between two checks of the parent PID. */
export const DEFAULT_INTERVAL_MS = 250;
/** Milliseconds `onParentDeath` gets to end the process before the watch ends it. */
export const DEFAULT_EXIT_AFTER_MS = 500;
/** The code the watch ends the process with when `onParentDeath` did not end it in time. */
export const EXIT_CODE = 1;

/** Options of {@link watchParent}. */
export interface ParentWatchOptions {
  /**
   * The PID to watch. Default: `process.ppid` now; pass the value read at the very start of the
   * program to also catch a parent that died during start-up.
   */
  readonly parentPid?: number;
  /** Milliseconds between two checks (default {@link DEFAULT_INTERVAL_MS}). */
  readonly intervalMs?: number;
  /** Milliseconds from detection to the forced exit (default {@link DEFAULT_EXIT_AFTER_MS}). */
  readonly exitAfterMs?: number;
  /** The exit code of the forced exit (default {@link EXIT_CODE}). */
  readonly exitCode?: number;
}

/** A running watch; see {@link watchParent}. */
export interface ParentWatch {
  /** The PID watched. */
  readonly parentPid: number;
  /** Whether the watch has seen the parent die. */
  readonly parentDied: boolean;
  /**
   * Stops watching. Idempotent. Once the parent has died this does not disarm the exit: the
   * process still ends at most `exitAfterMs` after the parent's death was noticed.
   */
  close(): void;
}

/**
 * Calls `onParentDeath()` soon after the parent process dies (within `intervalMs`); see the
 * module. The process ends `exitAfterMs` after detection unless `onParentDeath` ended it first.
 */
export function watchParent(onParentDeath: () => void, options: ParentWatchOptions = {}): ParentWatch {
  const parentPid = options.parentPid ?? process.ppid;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const exitAfterMs = options.exitAfterMs ?? DEFAULT_EXIT_AFTER_MS;
  const exitCode = options.exitCode ?? EXIT_CODE;
  if (!(intervalMs > 0) || !(exitAfterMs >= 0)) {
    throw new RangeError("intervalMs must be positive and exitAfterMs not negative");
  }
  let parentDied = false;
  let timer: NodeJS.Timeout | undefined;

  const stop = (): void => {
    if (timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  const check = (): void => {
    if (parentDied || process.ppid === parentPid) {
      return;
    }
    parentDied = true;
    stop();
    setTimeout(() => process.exit(exitCode), exitAfterMs).unref();
    try {
      onParentDeath();
    } catch {
      process.exit(exitCode);
    }
  };

  if (parentPid > 0) {
    timer = setInterval(check, intervalMs);
    timer.unref();
    // The parent may have died before the watch started (an explicit `parentPid`): look once soon.
    setImmediate(check).unref();
  }
  return {
    parentPid,
    get parentDied(): boolean {
      return parentDied;
    },
    close: stop,
  };
}
