// Type-checked (never run) by run.sh with `tsc --strict --noEmit`: the package's declarations
// as a TypeScript user sees them — decoded shapes vs `…Init` shapes, handler types.
import {
  decodeFrame,
  encodeFrame,
  FrameError,
  JsonFloat,
  Registry,
  RetryError,
  Timestamp,
  type Handler,
  type JsonValue,
  type RunnerMessage,
  type RunnerMessageInit,
} from "rrq-runner";

const handler: Handler = async (request, signal) => {
  signal.throwIfAborted();
  const value: JsonValue = [1, 2n, new JsonFloat(1), "x", null, { nested: true }];
  if (signal.aborted) throw new RetryError("later", { retryAfterSeconds: 1 });
  return { value, request: typeof request };
};

export const registry = new Registry().register("typed", handler);

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
