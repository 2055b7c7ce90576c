{{ header }}{% raw %}
/**
 * `rrq-runner`: RRQ runner bindings generated from the RRQ protocol schema — the protocol
 * types, a codec byte-identical to the Rust reference, and a runner runtime.
 *
 * @module
 */

export * from "./protocol.js";
export {
  decodeFrame,
  decodeMessage,
  encodeFrame,
  encodeMessage,
  encodeMessageText,
  FrameReader,
  type DecodeOptions,
} from "./codec.js";
export { FrameError, type FrameErrorKind } from "./errors.js";
export {
  compareCodePoints,
  fastPathApplies,
  formatFloat,
  JsonFloat,
  type JsonInput,
  type JsonObject,
  type JsonValue,
  type ParseOptions,
} from "./json.js";
export { ERROR_MESSAGES, errorMessage, FRAME_MESSAGES, formatMessage, type ErrorMessage } from "./messages.js";
export { Timestamp } from "./timestamp.js";
export {
  isLoopback,
  outcome,
  parseAddress,
  Registry,
  RetryError,
  Runner,
  serve,
  type Address,
  type Handler,
  type RunnerOptions,
  type ServeOptions,
} from "./runtime.js";
{% endraw %}
