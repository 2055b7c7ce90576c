/**
 * What the example handlers of every protocol version share (see DESIGN.md, "Examples
 * contract"): each version's `handlers.ts` says where a request's named options are (`kwargs`
 * in protocol "1", `params` in protocol "2") and what `echo` returns; the rest is here.
 *
 * - `sleep` sleeps `seconds` (aborted by a cancel, the deadline or shutdown) and returns
 *   `{ slept: seconds }`;
 * - `fail`  throws an {@link ExampleError} with `message` (a default when absent);
 * - `retry` asks for a retry after `seconds`.
 *
 * @module
 */

import { RetryError } from "rrq-runner";

/** The message `fail` throws with when the request has no `message` option. */
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

/** A request's named options. */
export type Options = { readonly [key: string]: unknown };

/** Resolves after `seconds`, or rejects with the signal's reason as soon as it aborts. */
export function sleepFor(seconds: number, signal: AbortSignal): Promise<void> {
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

/** The `sleep`, `fail` and `retry` handlers for requests of type `R`, whose options `options` reads. */
export function exampleHandlers<R>(options: (request: R) => Options) {
  return {
    /** Sleeps `seconds`; a cancel, the deadline or shutdown interrupts it. */
    async sleep(request: R, signal: AbortSignal): Promise<unknown> {
      const seconds = options(request)["seconds"] ?? 0;
      await sleepFor(Number(seconds), signal);
      return { slept: seconds };
    },
    /** Always fails, with `message` when given. */
    fail(request: R): never {
      const message = options(request)["message"];
      throw new ExampleError(message === undefined ? DEFAULT_FAIL_MESSAGE : String(message));
    },
    /** Asks for the job to be retried after `seconds`. */
    retry(request: R): never {
      const seconds = options(request)["seconds"];
      throw new RetryError(RETRY_MESSAGE, seconds === undefined ? {} : { retryAfterSeconds: Number(seconds) });
    },
  };
}
