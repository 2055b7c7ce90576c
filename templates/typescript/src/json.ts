{{ header }}{% raw %}
/**
 * Exact JSON for the RRQ wire format: values, the two decoders (a fast path over `JSON.parse`
 * and an exact parser), and the canonical encoder of dynamic values.
 *
 * JavaScript numbers cannot tell `1` from `1.0` and lose integers beyond 2^53, while the Rust
 * reference keeps both. Dynamic values (`JsonValue`) therefore use:
 * - `number` for integers in the safe range (|n| <= 2^53 - 1) and for floats with a fraction;
 * - `bigint` for integers outside the safe range but within [-2^63, 2^64) (Rust's i64/u64);
 * - {@link JsonFloat} for floats whose value is integral (`1.0`, `-0.0`, `1e300`), so that they
 *   re-encode as floats (`1.0`), exactly as Rust writes them.
 * Integers outside [-2^63, 2^64) are read as floats, as serde_json does.
 *
 * @module
 */

import { FrameError, pathOf, type Path } from "./errors.js";
import { FRAME_TEXTS, formatMessage } from "./frame.js";

/**
 * A JSON float whose value is integral (`1.0`, `-0.0`, `1e+16`): kept apart from integers so
 * that it re-encodes as a float. Floats with a fraction are plain `number`s.
 */
export class JsonFloat {
  /** The float's value. */
  readonly value: number;

  constructor(value: number) {
    this.value = value;
  }

  /** The number, so that arithmetic (`+f`, `f * 2`) works. */
  valueOf(): number {
    return this.value;
  }

  /** The float as the canonical encoder writes it (e.g. `1.0`, `1e+16`). */
  toString(): string {
    return formatFloat(this.value);
  }

  /** `JSON.stringify` sees the plain number. */
  toJSON(): number {
    return this.value;
  }
}

/** A JSON value as the decoders produce it (see the module docs for numbers). */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonFloat
  | JsonValue[]
  | JsonObject;

/** A JSON object as the decoders produce it. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * A value the encoder accepts where any JSON may go: a {@link JsonValue}, or objects with a
 * `toJSON` method (`Date`, `Timestamp`); properties whose value is `undefined` are skipped
 * (as `JSON.stringify` does).
 */
export type JsonInput =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonFloat
  | { toJSON(): unknown }
  | readonly JsonInput[]
  | { readonly [key: string]: JsonInput | undefined };

// ---------------------------------------------------------------------------------------------
// Describing values in error messages

/** The first `max` characters (code points, not UTF-16 units) of `s`, and whether it is longer. */
function codePointPrefix(s: string, max: number): [string, boolean] {
  if (s.length <= max) return [s, false];
  let i = 0;
  for (let count = 0; count < max; count++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
    if (i >= s.length) return [s, false];
  }
  return [s.slice(0, i), true];
}

/**
 * How an error names a value it did not expect, by the rule every language follows: `null`,
 * `boolean true`, `integer -1`, `float 1.5` (the canonical float text), `string "..."` (its
 * first 40 characters, JSON-escaped, then `...` when longer), `array`, `object`.
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case "string": {
      const [head, longer] = codePointPrefix(value, 40);
      return `string ${JSON.stringify(head)}${longer ? "..." : ""}`;
    }
    case "number":
      return Number.isInteger(value) && !Object.is(value, -0) ? `integer ${formatInteger(value)}` : `float ${formatFloat(value)}`;
    case "bigint":
      return `integer ${value}`;
    case "boolean":
      return `boolean ${value}`;
    case "undefined":
      return "undefined";
    case "object":
      if (value === null) return "null";
      if (value instanceof JsonFloat) return `float ${formatFloat(value.value)}`;
      if (Array.isArray(value)) return "array";
      return "object";
    default:
      return typeof value;
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

const MAX_SAFE_DIGITS = 15;
const I64_MIN = -(2n ** 63n);
const U64_LIMIT = 2n ** 64n;
/** A `\uD800`–`\uDFFF` escape somewhere (maybe inside a string that merely mentions one). */
const SURROGATE_ESCAPE = /\\u[dD][89abAB-fF]/;

/**
 * Whether `JSON.parse(text)` gives exactly what the exact parser would, with nothing to reject
 * that `JSON.parse` accepts: no integral float or unsafe integer or `-0` (they need
 * `JsonFloat` / `bigint`), no out-of-range float, no surrogate escape, nesting at most
 * `maxDepth`. A `false` costs only speed: the exact parser decides.
 */
export function fastPathApplies(text: string, maxDepth: number): boolean {
  if (text.indexOf("\\") !== -1 && SURROGATE_ESCAPE.test(text)) return false;
  const n = text.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: jump to its closing quote (one preceded by an even run of backslashes).
      let j = text.indexOf('"', i + 1);
      while (j !== -1 && text.charCodeAt(j - 1) === 0x5c) {
        let k = j - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      if (j === -1) return false;
      i = j;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return false;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      let fractional = false;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) continue;
        if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) fractional = true;
        else break;
      }
      const digits = c === 0x2d ? j - i - 1 : j - i;
      if (fractional) {
        const value = Number(text.slice(i, j));
        if (!Number.isFinite(value) || Number.isInteger(value)) return false;
      } else if (digits > MAX_SAFE_DIGITS) {
        if (!Number.isSafeInteger(Number(text.slice(i, j)))) return false;
      } else if (c === 0x2d && digits === 1 && text.charCodeAt(i + 1) === 0x30) {
        return false; // `-0` is a float for serde_json
      }
      i = j - 1;
    }
  }
  return true;
}

/**
 * A quicker, stricter form of {@link fastPathApplies} over the UTF-8 bytes of the text (typed
 * array reads are cheaper than `charCodeAt` on strings): `true` only when every number is an
 * integer of at most 15 digits other than `-0`, or has a fraction with a non-zero digit, at most
 * 15 digits in all and no exponent (so that `JSON.parse` reads it exactly and as a float with
 * a fraction), no `\uD800`–`\uDFFF` escape occurs, and nesting stays within `maxDepth`.
 * Anything else (`1.0`, `1e5`, long digit runs) answers `false` and is left to
 * {@link fastPathApplies}.
 */
export function quickScan(body: Uint8Array, maxDepth: number): boolean {
  const n = body.length;
  let depth = 0;
  let i = 0;
  while (i < n) {
    let c = body[i] as number;
    if (c === 0x22) {
      // A string: to its closing quote, escapes skipped (surrogate escapes refused).
      for (;;) {
        c = body[++i] as number;
        if (c === 0x22) break;
        if (c === 0x5c) {
          c = body[++i] as number;
          if (c === 0x75) {
            const h = body[i + 1];
            if (h === 0x64 || h === 0x44) {
              const l = body[i + 2] as number;
              if ((l >= 0x38 && l <= 0x39) || (l >= 0x61 && l <= 0x66) || (l >= 0x41 && l <= 0x46)) return false;
            }
          }
        } else if (i >= n) {
          return false;
        }
      }
      i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return false;
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const negative = c === 0x2d;
      if (negative) c = body[++i] as number;
      const first = c;
      let digits = 0;
      while (c >= 0x30 && c <= 0x39) {
        digits++;
        c = body[++i] as number;
      }
      if (c === 0x2e) {
        let nonZero = false;
        c = body[++i] as number;
        while (c >= 0x30 && c <= 0x39) {
          digits++;
          if (c !== 0x30) nonZero = true;
          c = body[++i] as number;
        }
        if (!nonZero) return false; // `1.0`, `-0.0`: integral floats
      } else if (negative && digits === 1 && first === 0x30) {
        return false; // `-0` is a float for serde_json
      }
      if (c === 0x65 || c === 0x45 || digits > MAX_SAFE_DIGITS) return false;
    } else {
      i++;
    }
  }
  return true;
}

/** Options of the decoders. */
export interface ParseOptions {
  /**
   * `"auto"` (default): `JSON.parse` when {@link fastPathApplies}, else the exact parser;
   * `"exact"`: always the exact parser. Both give the same values and verdicts.
   */
  parser?: "auto" | "exact";
}

/**
 * Parses one JSON document as the Rust reference does (see the module docs for numbers),
 * rejecting what serde_json rejects, with arrays and objects nested at most `maxDepth` levels
 * deep (the outermost is level 1). `utf8`, when given, is the text's UTF-8 encoding (for the
 * quicker pre-scan, {@link quickScan}).
 */
export function parseJson(text: string, maxDepth: number, options?: ParseOptions, utf8?: Uint8Array): unknown {
  if (options?.parser !== "exact" && ((utf8 !== undefined && quickScan(utf8, maxDepth)) || fastPathApplies(text, maxDepth))) {
    try {
      return JSON.parse(text);
    } catch {
      // Fall through: the exact parser names the error precisely.
    }
  }
  return new ExactParser(text, maxDepth).document();
}

/** Why a body is not a JSON document the protocol accepts (one fixed message each). */
type JsonCause = "bom" | "syntax" | "depth" | "surrogate" | "number";

function jsonError(cause: JsonCause, maxDepth: number): FrameError {
  return new FrameError("json", null, formatMessage(FRAME_TEXTS[`json_${cause}`], { max_nesting_depth: maxDepth }));
}

function defineKey(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

/** A recursive-descent JSON parser with serde_json's verdicts and exact numbers. */
class ExactParser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  document(): unknown {
    if (this.text.charCodeAt(0) === 0xfeff) throw jsonError("bom", this.maxDepth);
    this.ws();
    const value = this.value();
    this.ws();
    if (this.i < this.text.length) throw this.fail("syntax");
    return value;
  }

  /** The error of the first problem met (reading in document order), of cause `cause`. */
  private fail(cause: JsonCause): FrameError {
    return jsonError(cause, this.maxDepth);
  }

  private ws(): void {
    const t = this.text;
    let c = t.charCodeAt(this.i);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = t.charCodeAt(++this.i);
  }

  private value(): unknown {
    const t = this.text;
    const c = t.charCodeAt(this.i);
    switch (c) {
      case 0x22:
        return this.string();
      case 0x7b:
        return this.object();
      case 0x5b:
        return this.array();
      case 0x74:
        return this.literal("true", true);
      case 0x66:
        return this.literal("false", false);
      case 0x6e:
        return this.literal("null", null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        throw this.fail("syntax");
    }
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.i)) throw this.fail("syntax");
    this.i += word.length;
    return value;
  }

  private enter(): void {
    if (++this.depth > this.maxDepth) throw this.fail("depth");
  }

  private array(): unknown[] {
    this.enter();
    this.i++;
    const out: unknown[] = [];
    this.ws();
    if (this.text.charCodeAt(this.i) === 0x5d) {
      this.i++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value());
      this.ws();
      const c = this.text.charCodeAt(this.i++);
      if (c === 0x5d) break;
      if (c !== 0x2c) throw this.fail("syntax");
    }
    this.depth--;
    return out;
  }

  private object(): Record<string, unknown> {
    this.enter();
    this.i++;
    const out: Record<string, unknown> = {};
    this.ws();
    if (this.text.charCodeAt(this.i) === 0x7d) {
      this.i++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text.charCodeAt(this.i) !== 0x22) {
        throw this.fail("syntax");
      }
      const key = this.string();
      this.ws();
      if (this.text.charCodeAt(this.i) !== 0x3a) throw this.fail("syntax");
      this.i++;
      this.ws();
      defineKey(out, key, this.value());
      this.ws();
      const c = this.text.charCodeAt(this.i++);
      if (c === 0x7d) break;
      if (c !== 0x2c) throw this.fail("syntax");
    }
    this.depth--;
    return out;
  }

  private string(): string {
    const t = this.text;
    let start = ++this.i;
    let out = "";
    for (;;) {
      const c = t.charCodeAt(this.i);
      if (c === 0x22) {
        out += t.slice(start, this.i++);
        return out;
      }
      if (c === 0x5c) {
        out += t.slice(start, this.i);
        out += this.escape();
        start = this.i;
        continue;
      }
      if (!(c >= 0x20)) {
        throw this.fail("syntax");
      }
      this.i++;
    }
  }

  private hex4(): number {
    const digits = this.text.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) throw this.fail("syntax");
    this.i += 4;
    return parseInt(digits, 16);
  }

  private escape(): string {
    const t = this.text;
    const c = t.charCodeAt(++this.i);
    this.i++;
    switch (c) {
      case 0x22: return '"';
      case 0x5c: return "\\";
      case 0x2f: return "/";
      case 0x62: return "\b";
      case 0x66: return "\f";
      case 0x6e: return "\n";
      case 0x72: return "\r";
      case 0x74: return "\t";
      case 0x75: {
        const unit = this.hex4();
        if (unit >= 0xdc00 && unit <= 0xdfff) throw this.fail("surrogate");
        if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
        if (t.charCodeAt(this.i) !== 0x5c || t.charCodeAt(this.i + 1) !== 0x75) {
          throw this.fail("surrogate");
        }
        this.i += 2;
        const low = this.hex4();
        if (low < 0xdc00 || low > 0xdfff) throw this.fail("surrogate");
        return String.fromCharCode(unit, low);
      }
      default:
        throw this.fail("syntax");
    }
  }

  private number(): unknown {
    const t = this.text;
    const start = this.i;
    const negative = t.charCodeAt(this.i) === 0x2d;
    if (negative) this.i++;
    const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
    let c = t.charCodeAt(this.i);
    if (c === 0x30) {
      c = t.charCodeAt(++this.i);
    } else if (isDigit(c)) {
      while (isDigit(c)) c = t.charCodeAt(++this.i);
    } else {
      throw this.fail("syntax");
    }
    let float = false;
    if (c === 0x2e) {
      float = true;
      c = t.charCodeAt(++this.i);
      if (!isDigit(c)) throw this.fail("syntax");
      while (isDigit(c)) c = t.charCodeAt(++this.i);
    }
    if (c === 0x65 || c === 0x45) {
      float = true;
      c = t.charCodeAt(++this.i);
      if (c === 0x2b || c === 0x2d) c = t.charCodeAt(++this.i);
      if (!isDigit(c)) throw this.fail("syntax");
      while (isDigit(c)) c = t.charCodeAt(++this.i);
    }
    const token = t.slice(start, this.i);
    if (!float) {
      const digits = negative ? token.length - 1 : token.length;
      if (digits <= MAX_SAFE_DIGITS) {
        // serde_json reads `-0` as the float -0.0.
        return negative && digits === 1 && token.charCodeAt(1) === 0x30 ? new JsonFloat(-0) : Number(token);
      }
      const big = BigInt(token);
      if (big >= I64_MIN && big < U64_LIMIT) {
        const n = Number(big);
        return Number.isSafeInteger(n) && BigInt(n) === big ? n : big;
      }
    }
    const value = Number(token);
    if (!Number.isFinite(value)) throw this.fail("number");
    return Number.isInteger(value) ? new JsonFloat(value) : value;
  }
}

// ---------------------------------------------------------------------------------------------
// The lenient reading (which ids an undecodable frame's answer echoes)

const lenientDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/**
 * The members `keys` of the object that is member `outer` of the root object of `body`, those
 * that are strings of Unicode scalar values, read by the lenient reading; `null` when `body`
 * is not a JSON text under that reading.
 *
 * The lenient reading differs from the protocol's only in what it lets through: numbers of any
 * magnitude, lone surrogate escapes (inside strings that are not returned) and any nesting
 * depth. It still requires valid UTF-8 and RFC 8259 syntax (no byte-order mark, no `NaN`, no
 * trailing bytes). The last of duplicate keys wins (keys compared after unescaping). It never
 * recurses and builds no value, so any body a frame can hold is read in bounded memory.
 */
export function lenientStrings(body: Uint8Array, outer: string, keys: readonly string[]): Map<string, string> | null {
  let t: string;
  try {
    t = lenientDecoder.decode(body);
  } catch {
    return null;
  }
  return new LenientScanner(t).read(outer, keys);
}

/** What the scanner reads next: a value, an object key, or what follows a value. */
const Lenient = { Value: 0, Key: 1, After: 2 } as const;

/** The scanner behind {@link lenientStrings}. */
class LenientScanner {
  private i = 0;
  private stack = new Uint8Array(64);
  private depth = 0;

  constructor(private readonly t: string) {}

  private ws(): void {
    const t = this.t;
    let c = t.charCodeAt(this.i);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = t.charCodeAt(++this.i);
  }

  private push(open: number): void {
    if (this.depth === this.stack.length) {
      const grown = new Uint8Array(this.stack.length * 2);
      grown.set(this.stack);
      this.stack = grown;
    }
    this.stack[this.depth++] = open;
  }

  /** A string token at `i` (validated): its value when `wanted`, else `""`; `null` if invalid. */
  private string(wanted: boolean): string | null {
    const t = this.t;
    const start = this.i;
    let escaped = false;
    let i = start + 1;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        const e = t.charCodeAt(i + 1);
        if (e === 0x75) {
          if (!/^[0-9a-fA-F]{4}$/.test(t.slice(i + 2, i + 6))) return null;
          i += 6;
        } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          i += 2;
        } else {
          return null;
        }
      } else if (c >= 0x20) {
        i++;
      } else {
        return null; // a control character, or the end of the text (NaN)
      }
    }
    this.i = i + 1;
    if (!wanted) return "";
    return escaped ? (JSON.parse(t.slice(start, i + 1)) as string) : t.slice(start + 1, i);
  }

  /** A number token at `i` (RFC 8259 grammar, any magnitude); false if invalid. */
  private number(): boolean {
    const t = this.t;
    const digit = (c: number): boolean => c >= 0x30 && c <= 0x39;
    let c = t.charCodeAt(this.i);
    if (c === 0x2d) c = t.charCodeAt(++this.i);
    if (c === 0x30) {
      c = t.charCodeAt(++this.i);
    } else if (digit(c)) {
      while (digit(c)) c = t.charCodeAt(++this.i);
    } else {
      return false;
    }
    if (c === 0x2e) {
      c = t.charCodeAt(++this.i);
      if (!digit(c)) return false;
      while (digit(c)) c = t.charCodeAt(++this.i);
    }
    if (c === 0x65 || c === 0x45) {
      c = t.charCodeAt(++this.i);
      if (c === 0x2b || c === 0x2d) c = t.charCodeAt(++this.i);
      if (!digit(c)) return false;
      while (digit(c)) c = t.charCodeAt(++this.i);
    }
    return true;
  }

  read(outer: string, keys: readonly string[]): Map<string, string> | null {
    const t = this.t;
    const n = t.length;
    const found = new Map<string, string>();
    let inOuter = false; // the depth-1 member being read is `outer`
    let wanted: string | null = null; // the key whose value comes next, when it is one of `keys`
    let state: number = Lenient.Value;
    this.ws();
    for (;;) {
      if (state === Lenient.Value) {
        const c = t.charCodeAt(this.i);
        if (c === 0x7b || c === 0x5b) {
          wanted = null;
          this.push(c);
          this.i++;
          this.ws();
          if (t.charCodeAt(this.i) === c + 2) {
            // `{}` or `[]`
            this.depth--;
            this.i++;
            state = Lenient.After;
          } else {
            state = c === 0x7b ? Lenient.Key : Lenient.Value;
          }
        } else if (c === 0x22) {
          const value = this.string(wanted !== null);
          if (value === null) return null;
          if (wanted !== null && isWellFormed(value)) found.set(wanted, value);
          wanted = null;
          state = Lenient.After;
        } else {
          wanted = null;
          if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
            if (!this.number()) return null;
          } else if (t.startsWith("true", this.i)) {
            this.i += 4;
          } else if (t.startsWith("false", this.i)) {
            this.i += 5;
          } else if (t.startsWith("null", this.i)) {
            this.i += 4;
          } else {
            return null;
          }
          state = Lenient.After;
        }
      } else if (state === Lenient.Key) {
        if (t.charCodeAt(this.i) !== 0x22) return null;
        const depth = this.depth;
        const key = this.string(depth === 1 || (depth === 2 && inOuter));
        if (key === null) return null;
        this.ws();
        if (t.charCodeAt(this.i) !== 0x3a) return null;
        this.i++;
        this.ws();
        if (depth === 1) {
          inOuter = key === outer;
          if (inOuter) found.clear();
        } else if (depth === 2 && inOuter && keys.includes(key)) {
          found.delete(key);
          wanted = key;
        }
        state = Lenient.Value;
      } else {
        this.ws();
        if (this.depth === 0) return this.i === n ? found : null;
        const c = t.charCodeAt(this.i);
        const open = this.stack[this.depth - 1];
        if (c === 0x2c) {
          this.i++;
          this.ws();
          state = open === 0x7b ? Lenient.Key : Lenient.Value;
        } else if (c === (open as number) + 2) {
          this.depth--;
          this.i++;
        } else {
          return null;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * A float as serde_json (the Rust reference) writes it: the shortest digits that read back
 * to the same number, in positional notation for decimal exponents -5..=15 (always with a
 * fraction: `1.0`, `0.00001`) and otherwise as `1e+16`, `1.5e-7`; `-0.0` keeps its sign;
 * NaN and infinities, which JSON cannot hold, become `null` as in serde_json.
 */
export function formatFloat(x: number): string {
  if (!Number.isFinite(x)) return "null";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const abs = Math.abs(x);
  if (abs >= 1e-5 && abs < 1e16) {
    const s = String(x); // positional in this range, shortest round-trip digits
    return s.includes(".") ? s : s + ".0";
  }
  // Scientific: d[.ddd]e±x from JavaScript's shortest digits.
  const s = x.toExponential();
  const e = s.indexOf("e");
  const exponent = s.slice(e + 1);
  return s.slice(0, e) + (exponent.startsWith("-") ? "e" + exponent : "e+" + exponent.replace("+", ""));
}

const I64_MIN_NUMBER = -(2 ** 63);
const U64_LIMIT_NUMBER = 2 ** 64;

/** An integer as Rust writes it, or a float when it is outside Rust's i64/u64 range. */
export function formatInteger(x: number | bigint): string {
  if (typeof x === "bigint") {
    return x >= I64_MIN && x < U64_LIMIT ? x.toString() : formatFloat(Number(x));
  }
  if (Number.isSafeInteger(x)) return String(x === 0 ? 0 : x);
  return x >= I64_MIN_NUMBER && x < U64_LIMIT_NUMBER ? BigInt(x).toString() : formatFloat(x);
}

const wellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === "function"
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !/\p{Surrogate}/u.test(s);

/**
 * A string as serde_json writes it (`JSON.stringify`'s escaping is the same); a string with a
 * lone surrogate, which no Rust string can hold, is refused.
 */
export function writeString(s: string, path: Path, key: string | number | null): string {
  if (isPlain(s)) return '"' + s + '"';
  if (!wellFormed(s)) {
    throw new FrameError("value", pathOf(path, key), "expected a string of Unicode scalar values, got a lone surrogate");
  }
  return JSON.stringify(s);
}

const NEEDS_CARE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** Whether a string is written as is between quotes: nothing to escape, no surrogate. */
function isPlain(s: string): boolean {
  if (s.length > 64) return !NEEDS_CARE.test(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

function hasSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return true;
  }
  return false;
}

/** Compares strings by Unicode code point (UTF-8 byte order), not by UTF-16 code unit. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (U+D800..U+DFFF, i.e. code points >= U+10000) sort after U+E000..U+FFFF.
      if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
      if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Object keys in canonical order (by code point). */
export function sortedKeys(object: object): string[] {
  const keys = Object.keys(object);
  const n = keys.length;
  if (n < 2) return keys;
  // UTF-16 order equals code-point order unless a key holds a surrogate.
  let surrogates = false;
  for (let i = 0; i < n; i++) {
    if (hasSurrogate(keys[i] as string)) {
      surrogates = true;
      break;
    }
  }
  return surrogates ? keys.sort(compareCodePoints) : sortUnits(keys);
}

/** Sorts keys without surrogates (whose UTF-16 order is their code-point order) in place. */
function sortUnits(keys: string[]): string[] {
  const n = keys.length;
  if (n > 16) return keys.sort();
  // Insertion sort: faster than Array#sort for the few keys objects usually have.
  for (let i = 1; i < n; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

function notEncodable(path: Path, key: string | number | null, value: unknown): FrameError {
  return new FrameError("type", pathOf(path, key), `expected a JSON-encodable value, got ${describe(value)}`);
}

/**
 * Writes any JSON value canonically: object keys sorted by code point at every depth, numbers
 * as Rust writes them (see {@link formatFloat}, {@link formatInteger}). `depth` is the nesting
 * level of the value's container; containers nested deeper than `maxDepth` are refused (the
 * Rust reference would not read them back).
 */
export function writeAny(value: unknown, path: Path, key: string | number | null, depth: number, maxDepth: number): string {
  return writeTree(value, path, key, depth, maxDepth, true);
}

/**
 * Containers with more than this many items or keys are written by `JSON.stringify` when it
 * writes them exactly as canonically ({@link stringifies}): much quicker than building the text
 * here, and one flat string instead of a rope of many pieces. (For small ones the check costs
 * more than it saves.)
 */
const STRINGIFY_FROM = 64;

/** Whether a property order is the canonical one: strictly increasing by code point. */
function inOrder(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (compareCodePoints(keys[i - 1] as string, keys[i] as string) >= 0) return false;
  return true;
}

/**
 * Whether `JSON.stringify(value)` is exactly {@link writeTree}'s text for the container
 * `value` at nesting level `depth`: plain objects (prototype `Object.prototype` or `null`, no
 * `toJSON`) whose keys already come in canonical order and are well-formed, arrays without
 * holes, well-formed strings, booleans, `null`, safe integers, and non-integral finite numbers
 * of magnitude at least 1e-5 (which both write as JavaScript's shortest digits, positionally),
 * nested within `maxDepth`. Anything else (a `JsonFloat`, a `bigint`, a `Date`, an
 * `undefined` element, …) answers `false`, and {@link writeTree} writes the value (or names
 * what it cannot write) as before.
 */
function stringifies(value: object, depth: number, maxDepth: number): boolean {
  if (depth + 1 > maxDepth) return false;
  if (Array.isArray(value)) {
    if ((value as { toJSON?: unknown }).toJSON !== undefined) return false;
    const n = value.length;
    for (let i = 0; i < n; i++) if (!stringifiesItem(value[i], depth + 1, maxDepth)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || (value as { toJSON?: unknown }).toJSON !== undefined) return false;
  const keys = Object.keys(value);
  if (!inOrder(keys)) return false;
  const object = value as Record<string, unknown>;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (!wellFormed(k)) return false;
    const item = object[k];
    if (item !== undefined && !stringifiesItem(item, depth + 1, maxDepth)) return false;
  }
  return true;
}

function stringifiesItem(item: unknown, depth: number, maxDepth: number): boolean {
  switch (typeof item) {
    case "number":
      return Number.isInteger(item) ? Number.isSafeInteger(item) : Number.isFinite(item) && Math.abs(item) >= 1e-5;
    case "string":
      return wellFormed(item);
    case "boolean":
      return true;
    case "object":
      return item === null || stringifies(item, depth, maxDepth);
    default:
      return false;
  }
}

/**
 * {@link writeAny}'s writer; `shortcut`: whether a large container may be handed to
 * `JSON.stringify` (not below one found unfit: its check would mostly be repeated).
 */
function writeTree(value: unknown, path: Path, key: string | number | null, depth: number, maxDepth: number, shortcut: boolean): string {
  switch (typeof value) {
    case "string":
      return writeString(value, path, key);
    case "number":
      return Number.isInteger(value) ? formatInteger(value) : formatFloat(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return formatInteger(value);
    case "object":
      break;
    default:
      throw notEncodable(path, key, value);
  }
  if (value === null) return "null";
  // An array, or a plain object (the usual containers), is none of the special cases below
  // but `toJSON`: their checks are skipped.
  const array = Array.isArray(value);
  const proto: unknown = Object.getPrototypeOf(value);
  const plain = array ? proto === Array.prototype : proto === Object.prototype || proto === null;
  if (!plain && value instanceof JsonFloat) return formatFloat(value.value);
  if (depth + 1 > maxDepth) {
    throw new FrameError("value", pathOf(path, key), `expected JSON nested at most ${maxDepth} levels deep, got deeper nesting (or a cycle)`);
  }
  const here: Path = key === null ? path : { up: path, key };
  if (array) {
    const n = value.length;
    if (n > STRINGIFY_FROM) {
      if (shortcut) {
        if (stringifies(value, depth, maxDepth)) return JSON.stringify(value);
        shortcut = false;
      }
      // Joined, not concatenated: a rope of many pieces costs far more memory than the text.
      const parts = new Array<string>(n);
      for (let i = 0; i < n; i++) parts[i] = writeTree(value[i], here, i, depth + 1, maxDepth, shortcut);
      return "[" + parts.join(",") + "]";
    }
    if (n === 0) return "[]";
    let out = "[" + writeTree(value[0], here, 0, depth + 1, maxDepth, shortcut);
    for (let i = 1; i < n; i++) out += "," + writeTree(value[i], here, i, depth + 1, maxDepth, shortcut);
    return out + "]";
  }
  const withJson = value as { toJSON?: unknown };
  if (typeof withJson.toJSON === "function") {
    return writeTree((withJson.toJSON as () => unknown).call(value), path, key, depth, maxDepth, shortcut);
  }
  if (!plain && (value instanceof Map || value instanceof Set || ArrayBuffer.isView(value))) throw notEncodable(path, key, value);
  const object = value as Record<string, unknown>;
  const keys = plainKeys(object);
  if (keys === null) return writeObject(object, sortedKeys(object), here, depth, maxDepth, shortcut);
  if (keys.length > STRINGIFY_FROM && shortcut) {
    if (stringifies(object, depth, maxDepth)) return JSON.stringify(object);
    shortcut = false;
  }
  // Every key is written as is between quotes: no escape to check for each one again.
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const item = object[k];
    if (item === undefined) continue;
    out += (out.length === 1 ? '"' : ',"') + k + '":' + writeTree(item, here, k, depth + 1, maxDepth, shortcut);
  }
  return out + "}";
}

/** {@link writeTree} for an object whose keys (`keys`, in canonical order) need care (escapes, surrogates). */
function writeObject(object: Record<string, unknown>, keys: readonly string[], here: Path, depth: number, maxDepth: number, shortcut: boolean): string {
  if (keys.length > STRINGIFY_FROM && shortcut) {
    if (stringifies(object, depth, maxDepth)) return JSON.stringify(object);
    shortcut = false;
  }
  let out = "{";
  let sep = "";
  for (const k of keys) {
    const item = object[k];
    if (item === undefined) continue;
    out += sep + writeString(k, here, k) + ":" + writeTree(item, here, k, depth + 1, maxDepth, shortcut);
    sep = ",";
  }
  return out + "}";
}

/**
 * The keys of `object` in canonical order when each one is written as is between quotes
 * (nothing to escape, no surrogate: so UTF-16 order is code-point order); `null` otherwise.
 */
function plainKeys(object: object): string[] | null {
  const keys = Object.keys(object);
  const n = keys.length;
  for (let i = 0; i < n; i++) if (!isPlain(keys[i] as string)) return null;
  return sortUnits(keys);
}
{% endraw %}
