{{ header }}
/**
 * Framing, shared by every protocol version of the package: the 4-byte big-endian length
 * header, the frame-level error texts, and a {@link FrameReader} for byte streams. Each
 * version's `codec.ts` passes its own limit (`MAX_FRAME_LEN`).
 *
 * @module
 */

import * as buffer from "node:buffer";
import { FrameError } from "./errors.js";

/** Length of the frame header: a big-endian unsigned 32-bit body length. */
export const FRAME_HEADER_LEN = {{ header_len }};

/**
 * The texts of frame-level errors (length and JSON causes) by name, after `<path>: `, with
 * their `{placeholder}`s (each version's `FRAME_MESSAGES` has its limits filled in).
 */
export const FRAME_TEXTS = {
{%- for (name, text) in texts %}
  [{{ name }}]: {{ text }},
{%- endfor %}
} as const;
{% raw %}
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * `template` with each `{name}` replaced by `String(values[name])` (unknown names are left as
 * they are; replaced text is never scanned again).
 */
export function formatMessage(template: string, values: { readonly [name: string]: string | number | bigint } = {}): string {
  if (!template.includes("{")) return template;
  return template.replace(PLACEHOLDER, (whole: string, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole,
  );
}

/** The big-endian length header at `at`. */
export function readLength(bytes: Uint8Array, at: number): number {
  return (((bytes[at] as number) << 24) | ((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number)) >>> 0;
}

/**
 * Checks a header's length against `maxFrameLen`.
 * @throws FrameError (kind `length`) for 0 or more than `maxFrameLen`
 */
export function checkLength(length: number, maxFrameLen: number): void {
  if (length === 0) throw new FrameError("length", null, formatMessage(FRAME_TEXTS.length_zero, { max_frame_len: maxFrameLen }));
  if (length > maxFrameLen) {
    throw new FrameError("length", null, formatMessage(FRAME_TEXTS.length_too_long, { max_frame_len: maxFrameLen, length }));
  }
}

/**
 * One frame of the JSON text `text`: the header, then its UTF-8 bytes.
 * @throws FrameError when the body is longer than `maxFrameLen`
 */
export function frameOf(text: string, maxFrameLen: number): Uint8Array {
  const length = buffer.Buffer.byteLength(text, "utf8");
  checkLength(length, maxFrameLen);
  const frame = buffer.Buffer.allocUnsafe(FRAME_HEADER_LEN + length);
  frame.writeUInt32BE(length, 0);
  frame.write(text, FRAME_HEADER_LEN, "utf8");
  return frame;
}

/**
 * The body of exactly one complete frame: the header's length must equal the bytes that follow.
 * @throws FrameError (kind `length`)
 */
export function bodyOf(frame: Uint8Array, maxFrameLen: number): Uint8Array {
  if (frame.length < FRAME_HEADER_LEN) {
    throw new FrameError("length", null, formatMessage(FRAME_TEXTS.length_header, { header_len: FRAME_HEADER_LEN, got: frame.length }));
  }
  const length = readLength(frame, 0);
  checkLength(length, maxFrameLen);
  const actual = frame.length - FRAME_HEADER_LEN;
  if (actual !== length) {
    throw new FrameError("length", null, formatMessage(FRAME_TEXTS.length_mismatch, { length, got: actual }));
  }
  return frame.subarray(FRAME_HEADER_LEN);
}

/**
 * Reads frames from a byte stream: push chunks as they arrive, take complete bodies. Each
 * header is checked as soon as its four bytes are in, before any byte of its body is kept; a
 * bad header fails that push and every later one (the stream is out of step: close it).
 */
export class FrameReader {
  private readonly header = new Uint8Array(FRAME_HEADER_LEN);
  private headerFill = 0;
  private bodyLength = -1;
  private parts: Uint8Array[] = [];
  private bodyFill = 0;
  private ready: Uint8Array[] = [];
  private failure: FrameError | null = null;

  /** `maxFrameLen`: the longest body accepted (the protocol version's `MAX_FRAME_LEN`). */
  constructor(readonly maxFrameLen: number) {}

  /** Bytes received and not yet returned as bodies. */
  get buffered(): number {
    let total = this.headerFill + this.bodyFill;
    for (const body of this.ready) total += FRAME_HEADER_LEN + body.length;
    return total;
  }

  /** Whether a frame has started but is not complete. */
  get partial(): boolean {
    return this.headerFill > 0;
  }

  /**
   * Appends bytes from the stream.
   * @throws FrameError (kind `length`) on a header announcing 0 or more than `maxFrameLen` bytes
   */
  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.bodyLength < 0) {
        const take = Math.min(FRAME_HEADER_LEN - this.headerFill, chunk.length - offset);
        this.header.set(chunk.subarray(offset, offset + take), this.headerFill);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < FRAME_HEADER_LEN) break;
        const length = readLength(this.header, 0);
        try {
          checkLength(length, this.maxFrameLen);
        } catch (error) {
          this.failure = error as FrameError;
          throw error;
        }
        this.bodyLength = length;
      } else {
        const take = Math.min(this.bodyLength - this.bodyFill, chunk.length - offset);
        this.parts.push(chunk.subarray(offset, offset + take));
        this.bodyFill += take;
        offset += take;
        if (this.bodyFill === this.bodyLength) {
          const parts = this.parts;
          this.ready.push(parts.length === 1 ? (parts[0] as Uint8Array) : buffer.Buffer.concat(parts, this.bodyLength));
          this.parts = [];
          this.bodyFill = 0;
          this.bodyLength = -1;
          this.headerFill = 0;
        }
      }
    }
  }

  /** The next complete body, or `undefined`. */
  next(): Uint8Array | undefined {
    return this.ready.shift();
  }
}
{% endraw %}
