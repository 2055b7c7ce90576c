"""The accelerated decoder (`_fast`, msgspec) answers only where it agrees with the exact path:
every frame it decodes is a frame the exact path decodes to an equal message with the same
canonical bytes, and it declines (None) everything else. Checked on the golden corpus and on
corpus frames mutated with the edge cases this project cares about (big integers inside any-JSON,
``1.0`` vs ``1``, ``-0``, lone surrogates, duplicate keys, depth 127/128, nanosecond and
non-canonical timestamps, unknown fields holding what msgspec would skip unchecked). They run in
both modes: in stdlib mode the package has no accelerated decoder (checked below), so the tests
build one from the same module with msgspec (installed in the test venv) switched on."""

from __future__ import annotations

import base64
import importlib.util
import json
import random
import sys
from types import ModuleType
from typing import Any

import pytest
import rrq_proto
from conftest import CORPUS, IR, frame_of
from rrq_proto import _codec, _fast

from rrq_runner import _json

ACCEPTS = [frame_of(c)[4:] for c in CORPUS if c["verdict"] == "accept"]
CANONICAL = [base64.b64decode(c["canonical"])[4:] for c in CORPUS if c["verdict"] == "accept"]
REJECTS = [frame_of(c)[4:] for c in CORPUS if c["verdict"] == "reject" and c["error"]["kind"] != "length"]
ROOT_DECODER = getattr(_codec, "_decode_" + IR["root"])



def _accelerated() -> ModuleType:
    """The package's `_fast` module when it is on; else a second copy of it imported with msgspec
    present (the accelerator switch only decides whether the package builds it)."""
    if _fast.decode is not None:
        return _fast
    import msgspec

    name = _fast.__name__ + "_with_msgspec"
    spec = importlib.util.spec_from_file_location(name, _fast.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # msgspec resolves the shadows' annotations in their module's namespace.
    sys.modules[name] = module
    saved, _json.MSGSPEC = _json.MSGSPEC, msgspec
    try:
        spec.loader.exec_module(module)
    finally:
        _json.MSGSPEC = saved
    assert module.decode is not None
    return module


FAST = _accelerated()
FAST_DECODE = FAST.decode


def exact(body: bytes) -> Any:
    """The exact path's answer: the canonical body, or None for a reject."""
    try:
        value = _json._loads_stdlib(body)
    except _json.JsonError:
        return None
    try:
        message = ROOT_DECODER(value)
    except Exception:  # noqa: BLE001 - any fast-path failure means the slow path reports a reject
        return None
    return rrq_proto.encode_message(message), repr(message)


def check(body: bytes) -> bool:
    """Asserts the fast decoder agrees with the exact path; whether it answered."""
    got = FAST_DECODE(body)
    if got is None:
        return False
    want = exact(body)
    assert want is not None, f"fast path accepted what the exact path rejects: {body[:300]!r}"
    assert (rrq_proto.encode_message(got), repr(got)) == want, body[:300]
    assert rrq_proto.decode_message(body) == got
    return True


def test_present_exactly_in_accelerated_mode() -> None:
    assert (_fast.decode is not None) == (_json.MSGSPEC is not None)
    if _json.MSGSPEC is not None:
        assert _json.ACCELERATED


def test_corpus() -> None:
    answered = sum(check(body) for body in ACCEPTS + CANONICAL)
    # Most accepts take the fast path (the others have unknown fields, escapes, edge numbers).
    assert answered > 0.6 * len(ACCEPTS + CANONICAL)
    for body in REJECTS:
        assert FAST_DECODE(body) is None, body[:300]


# ---------------------------------------------------------------------------------------------
# Mutations: raw tokens put in place of values, added as unknown members, or as duplicates.

TOKENS = [
    "-0", "-0.0", "-0e0", "0", "1.0", "1", "1e2", "-1", "1E400", "-1e400", "1e-400", "4294967296", "-1.5",
    "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-9223372036854775809",
    "123456789012345678901234567890", "9007199254740993", "0.1", "5e-324", "2.5e-7", "1e16",
    "0.30000000000000004441", "1.00000000000000011102230246251565404236316680908203125", "1e-320",
    "2.2250738585072011e-308", "123456789012345678901234567890.5", "12345678901234567890e-10", "-0.0e-0",
    '"\\ud800"', '"\\udc00x"', '"\\ud83d\\ude00"', '"\\u00e9\\/"', '"caf\u00e9 \U0001f600"', '"a\\"b"', '"-0"',
    '"2025-03-14T09:26:53.589793238Z"', '"2025-03-14T09:26:53.589Z"', '"2025-03-14T09:26:53Z"',
    '"2025-03-14T09:26:53.5Z"', '"2025-03-14T09:26:53.000Z"', '"2025-03-14T09:26:53.589793000Z"',
    '"2025-03-14T10:26:53+01:00"', '"2025-03-14T24:00:00Z"', '"2025-02-30T09:26:53Z"', '"2025-03-14t09:26:53z"',
    '"0000-03-14T09:26:53Z"', '"2025-03-14T09:26:53.1234567890Z"', '"2025-03-14 09:26:53Z"', '"20250314T092653Z"',
    '"2025-03-14T09:26:60Z"', '"2025-03-14T09:26:53,5Z"', '"2025-03-14T09:26:53.58979323٣Z"',
    "null", "true", "false", "[]", "{}", '{"b":1,"a":[1.0,-0]}', "[" * 127 + "]" * 127, "[" * 128 + "]" * 128,
    '"success"', '"request"', '"x"', '""',
]


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_nodes(v, path + (k,)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_nodes(v, path + (i,)))
    return out


def mutate(body: bytes, rnd: random.Random) -> bytes:
    value = json.loads(body)
    tokens: dict[str, str] = {}
    for n in range(rnd.randint(1, 3)):
        mark = f"@@token{n}@@"
        tokens[mark] = rnd.choice(TOKENS)
        path = rnd.choice(_nodes(value))
        parent: Any = value
        for key in path[:-1]:
            parent = parent[key]
        what = rnd.random()
        if not path:
            continue
        if what < 0.6:
            parent[path[-1]] = mark
        elif isinstance(parent, dict) and what < 0.8:
            parent[rnd.choice(["zz_unknown", "\u00e9", str(path[-1])])] = mark
        elif isinstance(parent, dict):
            # A duplicate of the key, first or last: rebuilt as text below.
            key = path[-1]
            items = list(parent.items())
            dup = (key, mark)
            items.insert(0 if rnd.random() < 0.5 else len(items), dup)
            parent.clear()
            parent.update({f"@@dup{i}@@": v for i, (_, v) in enumerate(items)})
            for i, (k, _) in enumerate(items):
                tokens[f"@@dup{i}@@"] = json.dumps(k, ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for mark, token in tokens.items():
        text = text.replace(json.dumps(mark), token)
    if rnd.random() < 0.2:
        text = text.replace(",", " ,\n\t", 1)
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("seed", range(4))
def test_mutated_corpus(seed: int) -> None:
    rnd = random.Random(seed)
    answered = 0
    for _ in range(2500):
        answered += check(mutate(rnd.choice(CANONICAL), rnd))
    assert answered > 100


def test_unknown_members_holding_what_msgspec_skips_are_declined() -> None:
    for body in CANONICAL[:40]:
        for junk in (b'"\xff"', b'"\xed\xa0\x80"', b"1e400", b'"\\ud800"', b"[" * 128 + b"]" * 128):
            mutated = body[:-1] + b',"zz_unknown":' + junk + b"}"
            assert FAST_DECODE(mutated) is None
            assert check(mutated) is False


def test_number_tokens_gate_ignores_text_in_strings() -> None:
    # UUIDs and W3C trace contexts hold `-0` in text; only number tokens count.
    text = ('{"a":"4dad2986-0e83-4960-0a06-e9ab85a0bcc1","t":"00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01",'
            '"d":"2026-01-05T00:00:00Z","n":[10,-01.5,-0.5,-0e1]}')
    assert not _json._minus_zero(text.encode())
    assert not _json.msgspec_may_differ(text.encode())
    for token in ("-0", " -0", "-0 ", "-0]", "-0}", "-0,1", "\n-0\t"):
        for before in ("[", ":", ",", " "):
            assert _json._minus_zero(f'{{"a"{before if before != "[" else ":["}{token}]}}'.encode()), (before, token)
    assert _json.msgspec_may_differ(b'{"a":[' + b"1" * 19 + b"]}")
    assert _json.msgspec_may_differ(b"[" * 128 + b"]" * 128)
    assert not _json.msgspec_may_differ(b"[" * 127 + b"]" * 127)


def test_timestamp_fast_path_agrees_with_the_slow_path() -> None:
    rnd = random.Random(5)
    alphabet = "0123456789-:.TZtz+ ,٣"
    base = "2025-03-14T09:26:53.589793238Z"
    texts = [base[:n] + "Z" for n in range(18, 30)] + [t.strip('"') for t in TOKENS if t.startswith('"2')]
    for _ in range(20000):
        chars = list(rnd.choice(texts))
        for _ in range(rnd.randint(0, 2)):
            chars[rnd.randrange(len(chars))] = rnd.choice(alphabet)
        texts.append("".join(chars))
    for text in texts:
        try:
            fast: Any = _json.parse_timestamp(text)
            fast = (fast, fast.nanosecond, _json.format_timestamp(fast), fast.tzinfo is _json._UTC)
        except _json.TimestampError as exc:
            fast = str(exc)
        try:
            slow: Any = _json._parse_timestamp_slow(text)
            slow = (slow, slow.nanosecond, _json.format_timestamp(slow), slow.tzinfo is _json._UTC)
        except _json.TimestampError as exc:
            slow = str(exc)
        assert fast == slow, text
