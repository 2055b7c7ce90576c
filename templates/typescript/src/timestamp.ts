{{ header }}{% raw %}
/**
 * Timestamps with nanosecond precision, read with the protocol's strict RFC 3339 grammar and
 * written as the Rust reference (chrono) writes them.
 *
 * @module
 */

const SECONDS_PER_DAY = 86400;
const NANOS_PER_SECOND = 1_000_000_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1–12). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day count since 1970-01-01. */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const MIN_SECONDS = daysFromCivil(1, 1, 1) * SECONDS_PER_DAY;
const MAX_SECONDS = daysFromCivil(9999, 12, 31) * SECONDS_PER_DAY + SECONDS_PER_DAY - 1;

const SHAPE = "expected an RFC 3339 timestamp YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)";
const POWERS_OF_TEN = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/** The digit at `i`, or a large negative number (so that any field holding it is negative). */
function digit(text: string, i: number): number {
  const c = text.charCodeAt(i) - 0x30;
  return c >= 0 && c <= 9 ? c : -100000;
}

/** How many fraction digits the canonical text of `nanos` has: 0, 3, 6 or 9. */
function fractionDigits(nanos: number): number {
  if (nanos === 0) return 0;
  if (nanos % 1_000_000 === 0) return 3;
  return nanos % 1000 === 0 ? 6 : 9;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/** Two digits, zero-padded. */
function two(value: number): string {
  return value < 10 ? "0" + value : String(value);
}

/**
 * An instant in UTC with nanosecond precision, between 0001-01-01T00:00:00Z and
 * 9999-12-31T23:59:59.999999999Z. `Date` keeps only milliseconds; this keeps what the wire
 * carries, so a decoded timestamp re-encodes to the same text.
 */
export class Timestamp {
  /** Whole seconds since 1970-01-01T00:00:00Z (negative before). */
  readonly seconds: number;
  /** Nanoseconds within the second, 0–999 999 999. */
  readonly nanoseconds: number;
  /** The canonical text, once known (the instant is immutable). */
  #text: string | undefined;

  /**
   * @param seconds whole seconds since the Unix epoch
   * @param nanoseconds nanoseconds within that second, 0–999 999 999
   * @throws RangeError outside the supported range
   */
  constructor(seconds: number, nanoseconds = 0) {
    if (!Number.isSafeInteger(seconds) || seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
      throw new RangeError(`timestamp seconds out of range (years 0001..=9999): ${seconds}`);
    }
    if (!Number.isInteger(nanoseconds) || nanoseconds < 0 || nanoseconds >= NANOS_PER_SECOND) {
      throw new RangeError(`nanoseconds must be an integer in 0..=999999999, got ${nanoseconds}`);
    }
    this.seconds = seconds;
    this.nanoseconds = nanoseconds;
  }

  /**
   * Reads the protocol's strict RFC 3339 form
   * `YYYY-MM-DDThh:mm:ss[.1-9 digits](Z|±hh:mm)` (the same grammar as every other binding).
   * @throws RangeError naming what is wrong
   */
  static parse(text: string): Timestamp {
    const t = text;
    const n = t.length;
    if (
      n < 20 || t.charCodeAt(4) !== 0x2d || t.charCodeAt(7) !== 0x2d || t.charCodeAt(10) !== 0x54 ||
      t.charCodeAt(13) !== 0x3a || t.charCodeAt(16) !== 0x3a
    ) {
      throw new RangeError(SHAPE);
    }
    // Each field's two (or four) digits; a non-digit makes the field negative.
    const year = digit(t, 0) * 1000 + digit(t, 1) * 100 + digit(t, 2) * 10 + digit(t, 3);
    const month = digit(t, 5) * 10 + digit(t, 6);
    const day = digit(t, 8) * 10 + digit(t, 9);
    const hour = digit(t, 11) * 10 + digit(t, 12);
    const minute = digit(t, 14) * 10 + digit(t, 15);
    const second = digit(t, 17) * 10 + digit(t, 18);
    if ((year | month | day | hour | minute | second) < 0) throw new RangeError(SHAPE);
    let i = 19;
    let nanos = 0;
    let count = 0;
    if (t.charCodeAt(i) === 0x2e) {
      let c = t.charCodeAt(++i) - 0x30;
      while (c >= 0 && c <= 9) {
        if (++count <= 9) nanos = nanos * 10 + c;
        c = t.charCodeAt(++i) - 0x30;
      }
      if (count === 0 || count > 9) throw new RangeError("expected 1 to 9 digits of fractional seconds");
      nanos *= POWERS_OF_TEN[9 - count] as number;
    }
    let offset: number;
    const rest = n - i;
    const sign = t.charCodeAt(i);
    if (rest === 1 && sign === 0x5a) {
      offset = 0;
    } else if (rest === 6 && (sign === 0x2b || sign === 0x2d) && t.charCodeAt(i + 3) === 0x3a) {
      const oh = digit(t, i + 1) * 10 + digit(t, i + 2);
      const om = digit(t, i + 4) * 10 + digit(t, i + 5);
      if ((oh | om) < 0) throw new RangeError(SHAPE);
      if (oh > 23 || om > 59) throw new RangeError("offset out of range");
      offset = (sign === 0x2d ? -1 : 1) * (oh * 3600 + om * 60);
    } else {
      throw new RangeError(SHAPE);
    }
    if (year === 0) throw new RangeError("year out of range 0001..=9999");
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw new RangeError("no such date");
    if (hour > 23 || minute > 59 || second > 59) throw new RangeError("time of day out of range");
    const seconds = daysFromCivil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset;
    if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
      throw new RangeError("timestamp out of range once converted to UTC");
    }
    const stamp = new Timestamp(seconds, nanos);
    // A text already in the canonical form (UTC `Z`, the fewest of 0/3/6/9 fraction digits)
    // is what toString would write: keep it.
    if (offset === 0 && sign === 0x5a && count === fractionDigits(nanos)) stamp.#text = t;
    return stamp;
  }

  /** The instant of a `Date` (millisecond precision). */
  static fromDate(date: Date): Timestamp {
    return Timestamp.fromEpochMilliseconds(date.getTime());
  }

  /** The instant `ms` milliseconds after the Unix epoch (fractions keep microseconds). */
  static fromEpochMilliseconds(ms: number): Timestamp {
    const seconds = Math.floor(ms / 1000);
    const nanos = Math.round((ms - seconds * 1000) * 1_000_000);
    return nanos >= NANOS_PER_SECOND ? new Timestamp(seconds + 1, 0) : new Timestamp(seconds, nanos);
  }

  /** The instant `ns` nanoseconds after the Unix epoch. */
  static fromEpochNanoseconds(ns: bigint): Timestamp {
    const billion = BigInt(NANOS_PER_SECOND);
    let seconds = ns / billion;
    let nanos = ns % billion;
    if (nanos < 0n) {
      nanos += billion;
      seconds -= 1n;
    }
    return new Timestamp(Number(seconds), Number(nanos));
  }

  /** The current time (millisecond precision). */
  static now(): Timestamp {
    return Timestamp.fromEpochMilliseconds(Date.now());
  }

  /** Milliseconds since the Unix epoch (sub-millisecond digits as a fraction). */
  get epochMilliseconds(): number {
    return this.seconds * 1000 + this.nanoseconds / 1_000_000;
  }

  /** Nanoseconds since the Unix epoch, exactly. */
  get epochNanoseconds(): bigint {
    return BigInt(this.seconds) * BigInt(NANOS_PER_SECOND) + BigInt(this.nanoseconds);
  }

  /** A `Date` of this instant (truncated to the millisecond). */
  toDate(): Date {
    return new Date(this.seconds * 1000 + Math.floor(this.nanoseconds / 1_000_000));
  }

  /** Negative, zero or positive as this instant is before, equal to or after `other`. */
  compare(other: Timestamp): number {
    return this.seconds - other.seconds || this.nanoseconds - other.nanoseconds;
  }

  /** Whether both denote the same instant. */
  equals(other: Timestamp): boolean {
    return this.seconds === other.seconds && this.nanoseconds === other.nanoseconds;
  }

  /**
   * RFC 3339 in UTC as the Rust reference writes it: `Z`, and a fraction of 0, 3, 6 or 9 digits
   * (the fewest of those that are exact), e.g. `2024-05-01T12:00:00.120Z`.
   */
  toString(): string {
    const known = this.#text;
    if (known !== undefined) return known;
    const days = Math.floor(this.seconds / SECONDS_PER_DAY);
    const inDay = this.seconds - days * SECONDS_PER_DAY;
    const [year, month, day] = civilFromDays(days);
    let out = pad(year, 4) + "-" + two(month) + "-" + two(day) + "T" + two(Math.floor(inDay / 3600)) + ":" +
      two(Math.floor(inDay / 60) % 60) + ":" + two(inDay % 60);
    const n = this.nanoseconds;
    if (n !== 0) {
      if (n % 1_000_000 === 0) out += "." + pad(n / 1_000_000, 3);
      else if (n % 1000 === 0) out += "." + pad(n / 1000, 6);
      else out += "." + pad(n, 9);
    }
    return (this.#text = out + "Z");
  }

  /** The same text as {@link toString}, for `JSON.stringify`. */
  toJSON(): string {
    return this.toString();
  }

  /** Milliseconds since the epoch, so that `<` and `>` compare timestamps. */
  valueOf(): number {
    return this.epochMilliseconds;
  }
}
{% endraw %}
