"""The models follow the IR, round trips of constructed models, error paths when decoding and
encoding. Field names, types and constants come from the IR and the corpus, never typed here."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import rrq_proto
import rrq_runner
from rrq_runner import _frames
from conftest import CORPUS, IR, TYPES, frame_of
from rrq_proto import FrameError, Timestamp, decode_frame, decode_message, encode_frame, encode_message
from rrq_proto import _codec

STRUCTS = [t for t in IR["types"] if t["kind"] == "struct"]
ENUMS = [t for t in IR["types"] if t["kind"] == "enum"]
UNIONS = [t for t in IR["types"] if t["kind"] == "union"]
ROOT = TYPES[IR["root"]]


def attr(struct: str, wire: str) -> str:
    """The Python attribute of a wire field, as the package maps it."""
    return next(row[1] for row in _codec._TABLES.structs[struct] if row[0] == wire)


def variant_class(tag: str) -> type:
    return _codec._TABLES.unions[IR["root"]][3][tag][0]


def test_constants_follow_the_ir() -> None:
    meta = IR["meta"]
    assert rrq_proto.PROTOCOL_VERSION == meta["version"]
    assert rrq_proto.MAX_FRAME_LEN == meta["max_frame_len"]
    assert rrq_proto.MAX_NESTING_DEPTH == meta["max_nesting_depth"]
    assert rrq_runner.__version__ == meta["package_version"]
    assert rrq_proto.ErrorType.ALL == {e["value"] for e in meta["error_types"]}
    for e in meta["error_types"]:
        assert getattr(rrq_proto.ErrorType, e["value"].upper()) == e["value"]


@pytest.mark.parametrize("struct", STRUCTS, ids=[s["name"] for s in STRUCTS])
def test_struct_follows_the_ir(struct: dict[str, Any]) -> None:
    cls = getattr(rrq_proto, struct["name"])
    assert dataclasses.is_dataclass(cls) and hasattr(cls, "__slots__")
    assert inspect.cleandoc(cls.__doc__) == struct["doc"].strip()
    fields = dataclasses.fields(cls)
    assert [f.name for f in fields] == [attr(struct["name"], f["name"]) for f in struct["fields"]]
    for ir_field, field in zip(struct["fields"], fields):
        has_default = field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
        assert has_default == (not ir_field["required"]), field.name
        if ir_field.get("default") is not None:
            default = field.default if field.default_factory is dataclasses.MISSING else field.default_factory()
            assert default == ir_field["default"]
        shape = field.type if isinstance(field.type, str) else repr(field.type)
        if ir_field["nullable"]:
            assert shape.startswith("Nullable[" if ir_field["always_written"] else "Omittable["), shape
        else:
            assert "Nullable[" not in shape and "Omittable[" not in shape, shape


@pytest.mark.parametrize("enum_def", ENUMS, ids=[e["name"] for e in ENUMS])
def test_enum_follows_the_ir(enum_def: dict[str, Any]) -> None:
    cls = getattr(rrq_proto, enum_def["name"])
    assert issubclass(cls, str) and issubclass(cls, enum.Enum)
    assert [m.value for m in cls] == [v["value"] for v in enum_def["values"]]
    assert all(str(m) == m.value for m in cls)


def test_union_follows_the_ir() -> None:
    members = []
    for variant in ROOT["variants"]:
        cls = variant_class(variant["tag_value"])
        assert cls.TAG == variant["tag_value"]
        assert inspect.cleandoc(cls.__doc__) == variant["doc"].strip()
        members.append(cls)
    assert set(getattr(rrq_proto, IR["root"]).__args__) == set(members)


# ---------------------------------------------------------------------------------------------
# Constructed models


def sample(ty: dict[str, Any], salt: int) -> Any:
    kind = ty["kind"]
    if kind == "bool":
        return salt % 2 == 0
    if kind == "string":
        return f"v{salt}-é\"\\\n\u2028😀"
    if kind == "integer":
        return ty["max"] if ty.get("max") is not None and salt % 2 else (ty.get("min") or 0)
    if kind == "float":
        return [0.1, 1e-7, 1e16, 0.00001, -0.0, 2.5][salt % 6]
    if kind == "timestamp":
        return Timestamp(2024, 2, 29, 23, 59, 58, 123456, timezone.utc, nanosecond=salt % 1000)
    if kind == "any":
        return {"z": [1, 2.5, None, True, "x"], "a": {"é": 1e-6, "b": -(2**63), "c": 2**64 - 1}, "": []}
    if kind == "array":
        return [sample(ty["items"], salt + i) for i in range(3)]
    if kind == "map":
        return {k: sample(ty["values"], salt + i) for i, k in enumerate(["b", "a b", "é", "A"])}
    if kind == "named":
        return build(ty["name"], salt)
    raise AssertionError(kind)


def build(name: str, salt: int, fill_optional: bool = True) -> Any:
    t = TYPES[name]
    cls = getattr(rrq_proto, name)
    if t["kind"] == "enum":
        return list(cls)[salt % len(t["values"])]
    values = {}
    for f in t["fields"]:
        if f["required"] or fill_optional:
            values[attr(name, f["name"])] = sample(f["ty"], salt)
    return cls(**values)


@pytest.mark.parametrize("variant", ROOT["variants"], ids=[v["tag_value"] for v in ROOT["variants"]])
@pytest.mark.parametrize("fill", [True, False])
def test_constructed_round_trip(variant: dict[str, Any], fill: bool) -> None:
    for salt in range(4):
        message = variant_class(variant["tag_value"])(build(variant["ty"], salt, fill))
        frame = encode_frame(message)
        decoded = decode_frame(frame)
        assert encode_frame(decoded) == frame
        again = decode_frame(frame)
        assert decoded == again
        body = json.loads(frame[rrq_proto.FRAME_HEADER_LEN :])
        assert body[ROOT["tag"]] == variant["tag_value"]
        assert list(body[ROOT["content"]]) == [
            f["name"] for f in TYPES[variant["ty"]]["fields"] if f["name"] in body[ROOT["content"]]
        ]


def timestamp_fields() -> list[tuple[str, str]]:
    return [(s["name"], f["name"]) for s in STRUCTS for f in s["fields"] if f["ty"]["kind"] == "timestamp"]


def path_to(struct: str) -> list[str]:
    """Wire path from the root to a struct (through the root's content or a named field)."""
    for variant in ROOT["variants"]:
        if variant["ty"] == struct:
            return [ROOT["content"]]
    for s in STRUCTS:
        for f in s["fields"]:
            if f["ty"] == {"kind": "named", "name": struct}:
                return path_to(s["name"]) + [f["name"]]
    raise AssertionError(struct)


def variant_reaching(struct: str) -> dict[str, Any]:
    top = path_to(struct)
    for variant in ROOT["variants"]:
        if len(top) == 1 and variant["ty"] == struct:
            return variant
        fields = {f["name"]: f for f in TYPES[variant["ty"]]["fields"]}
        if len(top) > 1 and top[1] in fields:
            return variant
    raise AssertionError(struct)


@pytest.mark.parametrize("struct,field", timestamp_fields())
def test_timestamps_aware_naive_and_nanoseconds(struct: str, field: str) -> None:
    variant = variant_reaching(struct)
    message = variant_class(variant["tag_value"])(build(variant["ty"], 1))
    holder: Any = message
    for key in path_to(struct):
        holder = getattr(holder, key if holder is message else attr(type(holder).__name__, key))
    name = attr(struct, field)
    # Any aware datetime: written in UTC with the fewest exact fraction digits.
    setattr(holder, name, datetime(2024, 1, 1, 1, 30, 0, 250000, timezone(timedelta(hours=1, minutes=30))))
    decoded = decode_frame(encode_frame(message))
    value = getattr(_follow(decoded, path_to(struct)), name)
    assert isinstance(value, Timestamp) and value == datetime(2024, 1, 1, 0, 0, 0, 250000, timezone.utc)
    assert value.nanosecond == 0
    # Nanoseconds survive.
    setattr(holder, name, Timestamp(2024, 1, 1, 0, 0, 0, 1, timezone.utc, nanosecond=7))
    frame = encode_frame(message)
    assert b'00:00:00.000001007Z"' in frame
    assert getattr(_follow(decode_frame(frame), path_to(struct)), name).nanosecond == 7
    # Naive: a clear error naming the field.
    setattr(holder, name, datetime(2024, 1, 1))
    with pytest.raises(FrameError) as info:
        encode_frame(message)
    assert info.value.path == _frames.format_path(path_to(struct) + [field])
    assert "timezone-aware" in str(info.value)


def _follow(message: Any, path: list[str]) -> Any:
    holder = message
    for i, key in enumerate(path):
        holder = getattr(holder, key if i == 0 else attr(type(holder).__name__, key))
    return holder


# ---------------------------------------------------------------------------------------------
# Error paths


def wrong_value(ty: dict[str, Any]) -> Any:
    return {"bool": 1, "string": 12345, "integer": "1", "float": "1.5", "timestamp": 5, "array": {},
            "map": [], "named": 5}.get(ty["kind"], _SKIP)


_SKIP = object()


def _richness(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(_richness(v) for v in value.values() if isinstance(v, dict))
    return 0


def accepted_body(tag: str) -> dict[str, Any]:
    """The corpus's accepted message of this variant with the most (nested) fields present."""
    cases = [c for c in CORPUS if c["verdict"] == "accept" and c["message"][ROOT["tag"]] == tag]
    best = max(cases, key=lambda c: (_richness(c["message"][ROOT["content"]]), -len(c["frame"])))
    return json.loads(json.dumps(best["message"]))


def field_cases() -> list[tuple[str, list[str], dict[str, Any]]]:
    cases = []
    for variant in ROOT["variants"]:
        for struct in STRUCTS:
            try:
                top = path_to(struct["name"])
            except AssertionError:
                continue
            if variant_reaching(struct["name"]) is not variant:
                continue
            for f in struct["fields"]:
                cases.append((variant["tag_value"], top + [f["name"]], f))
    return cases


@pytest.mark.parametrize("tag,path,field", field_cases(), ids=lambda x: x if isinstance(x, str) else None)
def test_decode_errors_name_the_path(tag: str, path: list[str], field: dict[str, Any]) -> None:
    body = accepted_body(tag)
    holder = body
    for key in path[:-1]:
        holder = holder.setdefault(key, {})
    bad = wrong_value(field["ty"])
    if bad is _SKIP:  # any JSON value is valid here: nothing to reject
        return
    holder[path[-1]] = bad
    with pytest.raises(FrameError) as info:
        decode_message(json.dumps(body).encode())
    expected_path = _frames.format_path(path)
    assert (info.value.kind, info.value.path) == ("type", expected_path)
    assert str(info.value).startswith(f"{expected_path}: expected ")
    assert ", got " in str(info.value)
    if field["required"]:
        del holder[path[-1]]
        with pytest.raises(FrameError) as info:
            decode_message(json.dumps(body).encode())
        assert (info.value.kind, info.value.path) == ("missing", expected_path)
    ty = field["ty"]
    if ty["kind"] == "integer" and ty.get("max") is not None:
        holder[path[-1]] = ty["max"] + 1
        with pytest.raises(FrameError) as info:
            decode_message(json.dumps(body).encode())
        assert (info.value.kind, info.value.path) == ("value", expected_path)
        assert str(info.value) == f"{expected_path}: expected integer in {ty['min']}..={ty['max']}, got integer {ty['max'] + 1}"


@pytest.mark.parametrize("tag,path,field", field_cases(), ids=lambda x: x if isinstance(x, str) else None)
def test_encode_errors_name_the_path(tag: str, path: list[str], field: dict[str, Any]) -> None:
    bad = {"bool": 1, "string": 12345, "integer": True, "float": "x", "timestamp": "2024-01-01",
           "array": "x", "map": [], "named": 5, "any": {1: 2}}[field["ty"]["kind"]]
    variant = next(v for v in ROOT["variants"] if v["tag_value"] == tag)
    message = variant_class(tag)(build(variant["ty"], 1))
    encode_message(message)
    holder = _follow(message, path[:-1])
    setattr(holder, attr(type(holder).__name__, path[-1]), bad)
    with pytest.raises(FrameError) as info:
        encode_message(message)
    assert info.value.path.startswith(_frames.format_path(path)), str(info.value)
    assert ", got " in str(info.value)


def test_encode_rejects_non_json_values() -> None:
    for bad in [float("nan"), float("inf"), {1, 2}, object(), {"a": {2: 1}}, "\ud800"]:
        with pytest.raises(ValueError):
            rrq_runner._json.encode_any(bad).encode("utf-8")


def test_decode_frame_checks_the_header() -> None:
    body = frame_of(next(c for c in CORPUS if c["verdict"] == "accept"))[rrq_proto.FRAME_HEADER_LEN :]
    for frame in [b"", b"\x00\x00", (0).to_bytes(4, "big"), (rrq_proto.MAX_FRAME_LEN + 1).to_bytes(4, "big") + body,
                  (len(body) + 1).to_bytes(4, "big") + body]:
        with pytest.raises(FrameError) as info:
            decode_frame(frame)
        assert info.value.kind == "length"
    assert decode_frame(len(body).to_bytes(4, "big") + body) == decode_message(body)
