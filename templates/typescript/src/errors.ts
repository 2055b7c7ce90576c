{{ header }}{% raw %}
/**
 * Errors of the codec: {@link FrameError}, and the field paths it names.
 *
 * @module
 */

/** What kind of rule a rejected frame broke (the golden corpus's kinds, as in the Rust crate). */
export type FrameErrorKind =
  /** The length header is zero, above `MAX_FRAME_LEN`, or disagrees with the bytes given. */
  | "length"
  /** The body is not one well-formed JSON document in UTF-8. */
  | "json"
  /** A value has the wrong JSON type (including `null` where it is not allowed). */
  | "type"
  /** A required field is absent. */
  | "missing"
  /** A value has the right JSON type but is not allowed (range, enum value, timestamp). */
  | "value";

/**
 * The location of a value inside a message, innermost last; `null` is the message itself.
 * Built only when an error is reported.
 */
export type Path = null | { readonly up: Path; readonly key: string | number };

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Formats a path as the Rust crate does: `payload.context.attempt`, `payload.items[2]`,
 * `payload.labels["a b"]`, or `$` for the message itself. `key`, when given, is appended.
 */
export function pathOf(path: Path, key: string | number | null = null): string {
  const keys: (string | number)[] = key === null ? [] : [key];
  for (let p = path; p !== null; p = p.up) keys.push(p.key);
  let out = "";
  for (let i = keys.length - 1; i >= 0; i--) {
    const k = keys[i] as string | number;
    if (typeof k === "number") out += `[${k}]`;
    else if (PLAIN_KEY.test(k)) out += out === "" ? k : `.${k}`;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out === "" ? "$" : out;
}

/**
 * A frame that cannot be decoded, or a message that cannot be encoded. `kind` says which rule
 * was broken, `path` where (`$` for the whole message or frame), and the message reads
 * `<path>: <expectation>, got <what was found>`.
 */
export class FrameError extends Error {
  /** Which rule the frame broke. */
  readonly kind: FrameErrorKind;
  /** Where: `payload.context.attempt`, `payload.labels["a b"]`, or `$`. */
  readonly path: string;

  constructor(kind: FrameErrorKind, path: string | null, detail: string) {
    const where = path ?? "$";
    super(`${where}: ${detail}`);
    this.name = "FrameError";
    this.kind = kind;
    this.path = where;
  }
}
{% endraw %}
