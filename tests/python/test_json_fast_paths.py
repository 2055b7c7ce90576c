"""The fast paths of `rrq_runner._json` write and read exactly what its plain paths do, in the
mode under test (stdlib or accelerated): the any-JSON writer (C encoder built once, or orjson
where its float text was checked at import) against the pure-Python writer, the number gate of
the parser against the hooked parser, and timestamps that keep their decoded text only while it
is the canonical text of their value."""

from __future__ import annotations

import enum
import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from rrq_runner import _json

SEEDS = range(3)


def random_float(rnd: random.Random) -> float:
    value = rnd.random() * 10 ** rnd.uniform(-320, 308)
    return float(round(value, rnd.randint(0, 6))) if rnd.random() < 0.2 else value * rnd.choice((1, -1))


def random_value(rnd: random.Random, depth: int = 0) -> Any:
    kind = rnd.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rnd.choice((None, True, False))
    if kind == 1:
        return rnd.choice((0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, rnd.randint(-10**6, 10**6)))
    if kind == 2:
        return random_float(rnd)
    if kind == 3:
        return rnd.choice((0.0, -0.0, 1e16, 1e15, 1e-5, 1e-7, 5e-324, 1e21, 249.99, float("nan"), float("inf")))
    if kind in (4, 5):
        return "".join(chr(rnd.choice((rnd.randrange(0x20), rnd.randrange(0x80), rnd.randrange(0x110000)))) for _ in range(rnd.randrange(6)))
    if kind == 6:
        return [random_value(rnd, depth + 1) for _ in range(rnd.randrange(5))]
    if kind == 7:
        return tuple(random_value(rnd, depth + 1) for _ in range(rnd.randrange(3)))
    return {random_value(rnd, 9) if rnd.random() < 0.05 else str(random_value(rnd, 9)): random_value(rnd, depth + 1) for _ in range(rnd.randrange(5))}


def written(value: Any) -> str:
    # Strings are written as given: a lone surrogate fails when the text is encoded to UTF-8.
    try:
        return _json.encode_any(value).encode("utf-8").decode("utf-8")
    except UnicodeEncodeError:
        return "error: lone surrogate"
    except ValueError as exc:
        return "error: lone surrogate" if "lone surrogates" in str(exc) else f"error {exc}"


def written_slowly(value: Any) -> str:
    try:
        return _json._encode_slow(value, [])
    except ValueError as exc:
        return "error: lone surrogate" if "lone surrogates" in str(exc) else f"error {exc}"


def test_any_writer_fast_paths_agree_with_the_plain_writer() -> None:
    for seed in SEEDS:
        rnd = random.Random(seed)
        for _ in range(3000):
            value = [random_value(rnd)] if rnd.random() < 0.5 else {"k": random_value(rnd)}
            assert written(value) == written_slowly(value), value


class _Str(str):
    pass


class _Int(int):
    pass


class _Float(float):
    pass


class _Dict(dict):  # type: ignore[type-arg]
    pass


class _List(list):  # type: ignore[type-arg]
    pass


class _Color(enum.Enum):
    RED = 1


class _Name(str, enum.Enum):
    ALICE = "alice"


class _Level(enum.IntEnum):
    HIGH = 3


def exotic_values() -> list[Any]:
    """Values that are not plain JSON values, or not of the exact plain types: what orjson writes
    where the reference refuses (enum members, UUIDs, fragments, NaN), or writes otherwise."""
    values: list[Any] = [
        _Str("s"), _Int(5), _Float(1.5), _Dict(a=1), _List([1]), _Color.RED, _Name.ALICE, _Level.HIGH,
        uuid.UUID(int=7), float("nan"), float("-inf"), {1, 2}, frozenset(), b"bytes", bytearray(b"x"), Ellipsis,
        (1, "t"), 1j, 2**64, -(2**63) - 1, 2**70, "\ud800", {1: "int key"}, {_Str("k"): 1}, {None: 1},
        datetime(2025, 1, 1, tzinfo=timezone.utc), None, 1e-5, [None, float("nan")], {"a": None, "b": float("inf")},
    ]
    orjson = _json._ORJSON
    if orjson is not None:
        values.append(orjson.Fragment(b"[1]"))
    values += [[[[0]]] * 3, [[]] * 300]
    deep: Any = []
    for _ in range(300):
        deep = [deep]
    values.append(deep)
    return values


def test_any_writer_agrees_with_the_plain_writer_on_exotic_values() -> None:
    for value in exotic_values():
        for wrapped in ([value], {"k": value}, [1, {"z": [value], "a": None}]):
            assert written(wrapped) == written_slowly(wrapped), wrapped


def test_string_map_writer_agrees_with_the_plain_writer() -> None:
    rnd = random.Random(11)

    def text() -> str:
        return "".join(chr(rnd.choice((rnd.randrange(0x20), rnd.randrange(0x80), rnd.randrange(0x110000))))
                       for _ in range(rnd.randrange(8)))

    def plain(value: dict[Any, Any]) -> str:
        items = sorted(value.items())
        try:
            return "{" + ",".join([_json._c_encode_str(k) + ":" + _json._c_encode_str(v) for k, v in items]) + "}"
        except TypeError:
            return "error"

    def written_map(value: Any) -> str:
        try:
            return _json.encode_str_map(value)
        except TypeError:
            return "error"

    for _ in range(5000):
        value: dict[Any, Any] = {text(): text() for _ in range(rnd.randrange(4))}
        if rnd.random() < 0.1:
            value[text()] = rnd.choice((_Str("sub"), 1, None, b"b"))
        if rnd.random() < 0.05:
            value[rnd.choice((1, None, _Str("k")))] = "v"
        want = "error" if any(type(k) is not str for k in value) else plain(value)
        assert written_map(value) == want, value
    assert written_map(["not", "a", "map"]) == "error"
    assert written_map(_Dict(a="b")) == "error"


def test_any_writer_refuses_cycles() -> None:
    cycle: list[Any] = [1]
    cycle.append({"k": cycle})
    for value in (cycle, {"a": cycle}):
        try:
            _json.encode_any(value)
        except _json.AnyError as exc:
            assert exc.expected == "a JSON value without cycles or extreme nesting"
        else:
            raise AssertionError("a cycle was written")


def test_orjson_writer_only_where_its_floats_match() -> None:
    if _json._orjson_write is None:
        assert _json._ORJSON is None
        return
    assert _json.ACCELERATED
    rnd = random.Random(7)
    for _ in range(20000):
        value = random_float(rnd)
        if _json._ORJSON_FLOATS:
            assert _json._orjson_write([value]).decode() == "[" + _json.format_float(value) + "]"


def test_number_gate_agrees_with_the_hooked_parser() -> None:
    rnd = random.Random(3)
    tokens = ["-0", "-0.0", "-0e1", "0", "-01", "18446744073709551615", "18446744073709551616",
              "-9223372036854775809", "1e400", "1E-400", "1.5", "12345678901234567890123", '"2025-03-04"', '"-0"']
    for _ in range(3000):
        body = ("[" + ",".join(rnd.choice(tokens) for _ in range(rnd.randrange(1, 5))) + "]").encode()
        try:
            expected: Any = repr(_json._decode_hooked(body.decode()))
        except ValueError:
            expected = "error"
        try:
            got: Any = repr(_json.loads(body))
        except ValueError:
            got = "error"
        assert got == expected, body


def test_timestamps_keep_their_text_only_while_it_is_canonical() -> None:
    for text in ("2025-03-14T09:26:53Z", "2025-03-14T09:26:53.589Z", "2025-03-14T09:26:53.589793Z",
                 "2025-03-14T09:26:53.589793238Z", "2025-03-14T09:26:53.5Z", "2025-03-14T09:26:53.500000Z",
                 "2025-03-14T09:26:53.000Z", "2025-03-14T09:26:53.589793000Z", "2025-03-14T10:26:53+01:00"):
        value = _json.parse_timestamp(text)
        # The text written is the one the fields give (the plain formatter, on an equal datetime).
        plain = datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                         value.microsecond, timezone.utc)
        expected = _json.format_timestamp(plain) if value.nanosecond == 0 else None
        got = _json.format_timestamp(value)
        if expected is not None:
            assert got == expected, text
        assert _json.parse_timestamp(json.loads(got)) == value
        # A derived instant never writes the original text.
        later = value + timedelta(seconds=1)
        assert _json.format_timestamp(later) != got
        assert _json.format_timestamp(value.replace(minute=0)) == _json.format_timestamp(plain.replace(minute=0))
