// Type-checked (never run) by run.sh with `tsc --strict --noEmit`: the package's declarations
// as a TypeScript user sees them — each version's subpath and the top level (the latest),
// decoded shapes vs `…Init` shapes, handler types bound to their version.
import {
  decodeFrame,
  encodeFrame,
  FrameError,
  JsonFloat,
  Registry,
  RetryError,
  Timestamp,
  v1 as v1Namespace,
  type Handler,
  type JsonValue,
  type RunnerMessage,
  type RunnerMessageInit,
} from "rrq-runner";
import * as v1 from "rrq-runner/v1";
import * as v2 from "rrq-runner/v2";

const handler: Handler = async (request, signal) => {
  signal.throwIfAborted();
  const value: JsonValue = [1, 2n, new JsonFloat(1), "x", null, { nested: true }];
  if (signal.aborted) throw new RetryError("later", { retryAfterSeconds: 1 });
  return { value, request: typeof request };
};

export const registry = new Registry().register("typed", handler);

// Each version's Registry takes that version's handlers.
const v1Handler: v1.Handler = (request: v1.ExecutionRequest) => request;
const v2Handler: v2.Handler = (request: v2.ExecutionRequest) => request;
export const v1Registry: v1.Registry = new v1.Registry().register("v1", v1Handler);
export const v2Registry: v2.Registry = new v2.Registry().register("v2", v2Handler);
export const sameV1: typeof v1.Registry = v1Namespace.Registry;
export const versions: string[] = [v1.PROTOCOL_VERSION, v2.PROTOCOL_VERSION, String(v1.MAX_FRAME_LEN)];
// Both registries are served by the one shared Runner.
export const runners = [new v1.Runner(v1Registry), new v2.Runner(v2Registry)];
export const custom = v1.outcome({ status: v1.OutcomeStatus.Retry, retry_after_seconds: 3 });

export function roundTrip(frame: Uint8Array): Uint8Array {
  let message: RunnerMessage;
  try {
    message = decodeFrame(frame);
  } catch (error) {
    if (error instanceof FrameError) throw new Error(`${error.kind} at ${error.path}`);
    throw error;
  }
  // A decoded message is a valid encoding input.
  const init: RunnerMessageInit = message;
  const stamp: Timestamp = Timestamp.fromDate(new Date());
  void stamp.toDate();
  return encodeFrame(init);
}

export function v1RoundTrip(frame: Uint8Array): Uint8Array {
  const message: v1.RunnerMessage = v1.decodeFrame(frame);
  const init: v1.RunnerMessageInit = message;
  return v1.encodeFrame(init);
}
