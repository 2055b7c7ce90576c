{{ header }}{% raw %}
/**
 * Readers and writers of single values, used by the generated codec (`codec.ts`). Readers
 * check a decoded JSON value against the type a field declares and throw {@link FrameError}
 * naming the field path and the expectation; writers check a value given for encoding and
 * return its canonical JSON text.
 *
 * @module
 */

import { FrameError, pathOf, type Path } from "./errors.js";
import { describe, formatFloat, formatInteger, JsonFloat, sortedKeys, writeString, type JsonValue } from "./json.js";
import { Timestamp } from "./timestamp.js";

type Key = string | number | null;

/** The path of a value from its container's path and its key. */
export function child(up: Path, key: Key): Path {
  return key === null ? up : { up, key };
}

/** A `type` error: the value has the wrong JSON type. */
export function typeError(up: Path, key: Key, expected: string, got: unknown): FrameError {
  return new FrameError("type", pathOf(up, key), `expected ${expected}, got ${describe(got)}`);
}

/** A `value` error: right JSON type, value not allowed. */
export function valueError(up: Path, key: Key, expected: string, got: unknown): FrameError {
  return new FrameError("value", pathOf(up, key), `expected ${expected}, got ${describe(got)}`);
}

/** Throws the `missing` error of a required field whose value would be `expected`. */
export function missing(up: Path, key: string, expected: string): never {
  throw new FrameError("missing", pathOf(up, key), `expected ${expected}, got nothing`);
}

/** An own property, for field names that `Object.prototype` also has. */
export function own(object: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}

/** The value as an object (not an array, not null), or a `type` error. */
export function objectOf(value: unknown, up: Path, key: Key, expected: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof JsonFloat) {
    throw typeError(up, key, expected, value);
  }
  return value as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Readers (decoding): `expected` is the expectation an error states (shared with every language).

export function readString(value: unknown, up: Path, key: Key, expected: string): string {
  if (typeof value !== "string") throw typeError(up, key, expected, value);
  return value;
}

export function readBool(value: unknown, up: Path, key: Key, expected: string): boolean {
  if (typeof value !== "boolean") throw typeError(up, key, expected, value);
  return value;
}

function isInteger(value: unknown): value is number | bigint {
  return typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value) && !Object.is(value, -0));
}

/** An integer within `min..=max`, both within the safe range: always a `number`. */
export function readSafeInteger(value: unknown, up: Path, key: Key, min: number, max: number, expected: string): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max && !Object.is(value, -0)) {
    return value;
  }
  if (!isInteger(value)) throw typeError(up, key, expected, value);
  throw valueError(up, key, expected, value);
}

/** An integer within `min..=max`: a `number` when safe, else a `bigint`. */
export function readInteger(value: unknown, up: Path, key: Key, min: bigint, max: bigint, expected: string): number | bigint {
  if (!isInteger(value)) throw typeError(up, key, expected, value);
  const big = typeof value === "bigint" ? value : BigInt(value);
  if (big < min || big > max) throw valueError(up, key, expected, value);
  return value;
}

export function readFloat(value: unknown, up: Path, key: Key, expected: string): number {
  if (typeof value === "number") return value;
  if (value instanceof JsonFloat) return value.value;
  if (typeof value === "bigint") return Number(value);
  throw typeError(up, key, expected, value);
}

export function readTimestamp(value: unknown, up: Path, key: Key, expected: string): Timestamp {
  if (typeof value !== "string") throw typeError(up, key, expected, value);
  try {
    return Timestamp.parse(value);
  } catch {
    throw valueError(up, key, expected, value);
  }
}

/** An array of any JSON values (nothing to check inside: the parser produced them). */
export function readAnyArray(value: unknown, up: Path, key: Key, expected: string): JsonValue[] {
  if (!Array.isArray(value)) throw typeError(up, key, expected, value);
  return value as JsonValue[];
}

/** An array whose items `item` reads, in index order. */
export function readArray<T>(value: unknown, up: Path, key: Key, expected: string, item: (value: unknown, up: Path, index: number) => T): T[] {
  if (!Array.isArray(value)) throw typeError(up, key, expected, value);
  const here = child(up, key);
  const out: T[] = new Array<T>(value.length);
  for (let i = 0; i < value.length; i++) out[i] = item(value[i], here, i);
  return out;
}

/** A map of any JSON values by string key. */
export function readAnyMap(value: unknown, up: Path, key: Key, expected: string): { [key: string]: JsonValue } {
  return objectOf(value, up, key, expected) as { [key: string]: JsonValue };
}

/**
 * A map whose values `item` checks. When one fails, the entries are checked again in
 * code-point order of their keys and the first failure is reported (as the Rust reference
 * does, whatever order the object holds its keys in).
 */
export function readMap<T>(value: unknown, up: Path, key: Key, expected: string, item: (value: unknown, up: Path, key: string) => T): { [key: string]: T } {
  const object = objectOf(value, up, key, expected);
  const here = child(up, key);
  const out: { [key: string]: T } = {};
  try {
    for (const k in object) {
      const v = item(object[k], here, k);
      if (k === "__proto__") Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
      else out[k] = v;
    }
  } catch (error) {
    for (const k of sortedKeys(object)) item(object[k], here, k);
    throw error;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writers (encoding)

export function writeStr(value: unknown, up: Path, key: Key): string {
  if (typeof value !== "string") throw typeError(up, key, "a string", value);
  return writeString(value, up, key);
}

export function writeBool(value: unknown, up: Path, key: Key): string {
  if (typeof value !== "boolean") throw typeError(up, key, "a boolean", value);
  return value ? "true" : "false";
}

export function writeInteger(value: unknown, up: Path, key: Key, min: bigint, max: bigint): string {
  if (!isInteger(value) && !(typeof value === "number" && Object.is(value, -0))) {
    throw typeError(up, key, `an integer in ${min}..=${max}`, value);
  }
  const big = typeof value === "bigint" ? value : BigInt(value);
  if (big < min || big > max) throw valueError(up, key, `an integer in ${min}..=${max}`, value);
  return formatInteger(big);
}

export function writeFloat(value: unknown, up: Path, key: Key): string {
  if (typeof value === "number") return formatFloat(value);
  if (value instanceof JsonFloat) return formatFloat(value.value);
  if (typeof value === "bigint") return formatFloat(Number(value));
  throw typeError(up, key, "a number", value);
}

export function writeTimestamp(value: unknown, up: Path, key: Key): string {
  if (value instanceof Timestamp) return '"' + value.toString() + '"';
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw valueError(up, key, "a valid Date", value);
    return '"' + Timestamp.fromDate(value).toString() + '"';
  }
  throw typeError(up, key, "a Timestamp or a Date", value);
}

export function writeArray(value: unknown, up: Path, key: Key, item: (value: unknown, up: Path, index: number) => string): string {
  if (!Array.isArray(value)) throw typeError(up, key, "an array", value);
  const here = child(up, key);
  let out = "[";
  for (let i = 0; i < value.length; i++) {
    if (i > 0) out += ",";
    out += item(value[i], here, i);
  }
  return out + "]";
}

export function writeMap(value: unknown, up: Path, key: Key, item: (value: unknown, up: Path, key: string) => string): string {
  const object = objectOf(value, up, key, "a map (object)");
  const here = child(up, key);
  let out = "{";
  let sep = "";
  for (const k of sortedKeys(object)) {
    const v = object[k];
    if (v === undefined) continue;
    out += sep + writeString(k, here, k) + ":" + item(v, here, k);
    sep = ",";
  }
  return out + "}";
}
{% endraw %}
