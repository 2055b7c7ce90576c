/**
 * Example handlers for the generated TypeScript runner (npm package `rrq-runner`).
 *
 * The four handlers every example runner registers (see DESIGN.md, "Examples contract"):
 * - `echo`  returns `{ args, kwargs }` of the request;
 * - `sleep` sleeps `kwargs.seconds` (aborted by a cancel, the deadline or shutdown) and returns
 *   `{ slept: seconds }`;
 * - `fail`  throws an {@link ExampleError} with `kwargs.message` (a default when absent);
 * - `retry` asks for a retry after `kwargs.seconds`.
 *
 * Start a runner with them (it listens on `RRQ_RUNNER_TCP_SOCKET`):
 *
 *     examples/typescript/run.sh
 *     # which compiles this file and runs: rrq-runner --handlers ./dist/handlers.js
 *
 * @module
 */

import { Registry, RetryError, type ExecutionRequest } from "rrq-runner";

/** The message `fail` throws with when the request has no `message` keyword argument. */
export const DEFAULT_FAIL_MESSAGE = "the fail handler was called without a message";
/** The message of the `retry` outcome. */
export const RETRY_MESSAGE = "the retry handler asks to be retried";

/** Thrown by `fail`; the runner reports its `name` as the error type. */
export class ExampleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExampleError";
  }
}

/** Resolves after `seconds`, or rejects with the signal's reason as soon as it aborts. */
function sleepFor(seconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, seconds * 1000);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Returns the request's arguments unchanged. */
function echo(request: ExecutionRequest): unknown {
  return { args: request.args, kwargs: request.kwargs };
}

/** Sleeps `kwargs.seconds`; a cancel or the deadline interrupts it. */
async function sleep(request: ExecutionRequest, signal: AbortSignal): Promise<unknown> {
  const seconds = request.kwargs["seconds"] ?? 0;
  await sleepFor(Number(seconds), signal);
  return { slept: seconds };
}

/** Always fails, with `kwargs.message` when given. */
function fail(request: ExecutionRequest): never {
  const message = request.kwargs["message"];
  throw new ExampleError(message === undefined ? DEFAULT_FAIL_MESSAGE : String(message));
}

/** Asks for the job to be retried after `kwargs.seconds`. */
function retry(request: ExecutionRequest): never {
  const seconds = request.kwargs["seconds"];
  throw new RetryError(RETRY_MESSAGE, seconds === undefined ? {} : { retryAfterSeconds: Number(seconds) });
}

const registry = new Registry();
registry.register("echo", echo);
registry.register("sleep", sleep);
registry.register("fail", fail);
registry.register("retry", retry);

export default registry;
