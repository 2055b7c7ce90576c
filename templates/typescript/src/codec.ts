{{ header }}
/**
 * The codec: a reader (validator) and a canonical writer for every protocol type, generated
 * from the schema, and the message and frame functions built on them.
 *
 * Readers take a parsed JSON value and return the decoded shape, throwing {@link FrameError}
 * with the path and the expectation; when several fields are wrong, the one reported is the
 * one the Rust reference reports (the first invalid present field in declaration order, then
 * the first missing one; map entries in code-point order of their keys), whatever the order
 * of the keys in the input.
 * Writers check a value given for encoding and return its canonical JSON text, byte for byte
 * what the Rust reference writes.
 *
 * @module
 */

import * as buffer from "node:buffer";
import { FrameError, type Path } from "{{ up }}errors.js";
import { bodyOf, FrameReader as StreamReader, frameOf } from "{{ up }}frame.js";
import { parseJson, writeAny, type JsonValue, type ParseOptions } from "{{ up }}json.js";
import { FRAME_MESSAGES } from "./messages.js";
import { MAX_FRAME_LEN, MAX_NESTING_DEPTH } from "./protocol.js";
import type { {{ type_imports }} } from "./protocol.js";
import {
  child,
  missing,
  objectOf,
  own,
  readAnyArray,
  readAnyMap,
  readArray,
  readBool,
  readFloat,
  readInteger,
  readMap,
  readSafeInteger,
  readString,
  readTimestamp,
  typeError,
  valueError,
  writeArray,
  writeBool,
  writeFloat,
  writeInteger,
  writeMap,
  writeStr,
  writeTimestamp,
} from "{{ up }}values.js";

// Not every schema uses every helper.
void [own, readAnyArray, readAnyMap, readArray, readBool, readFloat, readInteger, readMap, readSafeInteger, readString, readTimestamp];
void [writeAny, writeArray, writeBool, writeFloat, writeInteger, writeMap, writeStr, writeTimestamp];

type Key = string | number | null;
{% for e in enums %}
/** Reads a {@link {{ e.name }}}; `expected` is its expectation in error messages. */
export function read{{ e.name }}(value: unknown, up: Path, key: Key, expected: string = {{ e.expected }}): {{ e.name }} {
  switch (value) {
  {%- for m in e.members %}
    case {{ m.value }}:
  {%- endfor %}
      return value as {{ e.name }};
  }
  if (typeof value !== "string") throw typeError(up, key, expected, value);
  throw valueError(up, key, expected, value);
}

/** Writes a {@link {{ e.name }}}. */
export function write{{ e.name }}(value: unknown, up: Path, key: Key, level: number): string {
  void level;
  switch (value) {
  {%- for m in e.members %}
    case {{ m.value }}:
  {%- endfor %}
      return '"' + (value as string) + '"';
  }
  if (typeof value !== "string") throw typeError(up, key, {{ e.expected }}, value);
  throw valueError(up, key, {{ e.expected }}, value);
}
{% endfor %}
{%- for s in structs %}
/** Reads a {@link {{ s.name }}}: fields checked, defaults filled in, unknown fields ignored. */
export function read{{ s.name }}(value: unknown, up: Path, key: Key, expected: string = "object"): {{ s.name }} {
  const o = objectOf(value, up, key, expected);
  const path = child(up, key);
  try {
    let v: unknown;
  {%- for f in s.fields %}
    v = {{ f.get }};
    const f{{ loop.index0 }} = {{ f.read }};
  {%- endfor %}
    return {
    {%- for f in s.fields %}
      {{ f.prop }}: f{{ loop.index0 }},
    {%- endfor %}
    };
  } catch (error) {
    firstError{{ s.name }}(o, path);
    throw error;
  }
}

/**
 * Throws the error the Rust reference reports for a bad {@link {{ s.name }}}: the first invalid
 * present field in declaration order (depth first), then the first absent required field.
 */
function firstError{{ s.name }}(o: Record<string, unknown>, path: Path): void {
  let v: unknown;
  {%- for f in s.fields %}
  v = {{ f.get }};
  if (v !== undefined) void ({{ f.read_present }});
  {%- endfor %}
  {%- for f in s.fields %}{% if f.required %}
  if ({{ f.get }} === undefined) missing(path, {{ f.key }}, {{ f.expected }});
  {%- endif %}{% endfor %}
}

/** Writes a {@link {{ s.name }}} canonically; `level` is its nesting level. */
export function write{{ s.name }}(value: unknown, up: Path, key: Key, level: number): string {
  const o = objectOf(value, up, key, "a {{ s.name }} object");
  const path = child(up, key);
  let v: unknown;
  // Built without slicing (a slice would flatten the text built so far at every level).
  let out = "{";
  let sep = "";
  {%- for f in s.fields %}
  v = {{ f.get }};
  {{ f.write }}
  {%- endfor %}
  void sep;
  return out + "}";
}
{% endfor %}
{%- for u in unions %}
/** Reads a {@link {{ u.name }}}: the tag first, then the content it selects. */
export function read{{ u.name }}(value: unknown, up: Path, key: Key, expected: string = "object"): {{ u.name }} {
  const o = objectOf(value, up, key, expected);
  const path = child(up, key);
  const tag = {{ u.tag_access }};
  if (tag === undefined) missing(path, {{ u.tag_key }}, {{ u.expected }});
  if (typeof tag !== "string") throw typeError(path, {{ u.tag_key }}, {{ u.expected }}, tag);
  const content = {{ u.content_access }};
  switch (tag) {
  {%- for v in u.variants %}
    case {{ v.tag }}:
      if (content === undefined) missing(path, {{ u.content_key }}, {{ v.expected }});
      return { {{ u.tag_prop }}: {{ v.tag }}, {{ u.content_prop }}: read{{ v.ty }}(content, path, {{ u.content_key }}, {{ v.expected }}) };
  {%- endfor %}
    default:
      throw valueError(path, {{ u.tag_key }}, {{ u.expected }}, tag);
  }
}

/** Writes a {@link {{ u.name }}} canonically: the tag, then the content. */
export function write{{ u.name }}(value: unknown, up: Path, key: Key, level: number): string {
  const o = objectOf(value, up, key, "a {{ u.name }} object");
  const path = child(up, key);
  const tag = {{ u.tag_access }};
  const content = {{ u.content_access }};
  switch (tag) {
  {%- for v in u.variants %}
    case {{ v.tag }}:
      if (content === undefined) missing(path, {{ u.content_key }}, {{ v.expected }});
      return {{ v.prefix }} + write{{ v.ty }}(content, path, {{ u.content_key }}, level + 1) + "}";
  {%- endfor %}
    default:
      if (tag === undefined) missing(path, {{ u.tag_key }}, {{ u.expected }});
      if (typeof tag !== "string") throw typeError(path, {{ u.tag_key }}, {{ u.expected }}, tag);
      throw valueError(path, {{ u.tag_key }}, {{ u.expected }}, tag);
  }
}
{% endfor %}
// ---------------------------------------------------------------------------------------------
// Messages and frames

/** Options of {@link decodeMessage} and {@link decodeFrame}. */
export type DecodeOptions = ParseOptions;

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The text of a UTF-8 body, a byte-order mark kept (the JSON parsers then reject it). */
function utf8(body: Uint8Array): string {
  const bytes = body instanceof buffer.Buffer ? body : buffer.Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof buffer.isAscii === "function" && buffer.isAscii(body)) {
    // ASCII is valid UTF-8, and its Latin-1 decoding (a plain copy) is the same text.
    return bytes.toString("latin1");
  }
  if (typeof buffer.isUtf8 === "function") {
    if (!buffer.isUtf8(body)) throw new FrameError("json", null, FRAME_MESSAGES.json_utf8);
    return bytes.toString("utf8");
  }
  try {
    return fatalDecoder.decode(body);
  } catch {
    throw new FrameError("json", null, FRAME_MESSAGES.json_utf8);
  }
}

/**
 * Decodes one JSON body (no header) strictly: the verdict, the values and the error kind and
 * path are those of the Rust reference.
 * @throws FrameError
 */
export function decodeMessage(body: Uint8Array, options?: DecodeOptions): {{ root }} {
  return read{{ root }}(parseJson(utf8(body), MAX_NESTING_DEPTH, options, body), null, null, {{ root_expected }});
}

/**
 * The canonical JSON text of a message: what the Rust reference writes for it.
 * @throws FrameError when the message does not fit the protocol types
 */
export function encodeMessageText(message: {{ root }}Init): string {
  return write{{ root }}(message, null, null, 1);
}

/**
 * The canonical JSON body (no header) of a message, as UTF-8.
 * @throws FrameError when the message does not fit the protocol types
 */
export function encodeMessage(message: {{ root }}Init): Uint8Array {
  return buffer.Buffer.from(encodeMessageText(message), "utf8");
}

/**
 * Encodes a message as one frame: the big-endian length header, then the canonical body.
 * @throws FrameError when the message does not fit the protocol types or the frame is too long
 */
export function encodeFrame(message: {{ root }}Init): Uint8Array {
  return frameOf(encodeMessageText(message), MAX_FRAME_LEN);
}

/**
 * Decodes exactly one complete frame: the header's length must equal the bytes that follow.
 * @throws FrameError
 */
export function decodeFrame(frame: Uint8Array, options?: DecodeOptions): {{ root }} {
  return decodeMessage(bodyOf(frame, MAX_FRAME_LEN), options);
}

/**
 * Reads frames from a byte stream: push chunks as they arrive, take complete bodies (or
 * decoded messages). Each header is checked against `MAX_FRAME_LEN` as soon as its four bytes
 * are in, before any byte of its body is kept; a bad header fails that push and every later
 * one (the stream is out of step: close it).
 */
export class FrameReader extends StreamReader {
  constructor() {
    super(MAX_FRAME_LEN);
  }

  /** The next complete message (decoded), or `undefined`; a body that fails throws. */
  nextMessage(options?: DecodeOptions): {{ root }} | undefined {
    const body = this.next();
    return body === undefined ? undefined : decodeMessage(body, options);
  }
}
