{{ header }}
/**
{{ doc }}
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
export { ERROR_MESSAGES, errorMessage, FRAME_MESSAGES, formatMessage, type ErrorMessage } from "./messages.js";
export { FrameError, type FrameErrorKind } from "{{ up }}errors.js";
export {
  compareCodePoints,
  fastPathApplies,
  formatFloat,
  JsonFloat,
  type JsonInput,
  type JsonObject,
  type JsonValue,
  type ParseOptions,
} from "{{ up }}json.js";
export { Timestamp } from "{{ up }}timestamp.js";
{%- if runtime %}
export {
  isLoopback,
  parseAddress,
  RetryError,
  Runner,
  serve,
  type Address,
  type Binding,
  type RunnerOptions,
  type ServeOptions,
} from "{{ up }}runtime.js";

import { outcome as anyOutcome, Registry as AnyRegistry, type Handler as AnyHandler } from "{{ up }}runtime.js";
import { binding } from "./glue.js";
import type { {{ request_type }}, {{ outcome_type }}Init } from "./protocol.js";

/** A job handler of this protocol version: gets its `{{ request_type }}` (and an `AbortSignal`). */
export type Handler = AnyHandler<{{ request_type }}>;

/**
 * Handlers by function name, served in protocol version {{ version_text }}: `new Registry()`,
 * then `register(name, handler)` for each; the CLI and {@link serve} speak the registry's version.
 */
export class Registry extends AnyRegistry<{{ request_type }}, {{ outcome_type }}Init> {
  constructor() {
    super(binding);
  }
}

/**
 * Marks an outcome for a handler to return as is (instead of as a `success` result); its job
 * and request ids are filled in from the request when absent.
 */
export const outcome: <T extends {{ outcome_type }}Init>(value: T) => T = anyOutcome;
{%- endif %}
