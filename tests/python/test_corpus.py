"""Every golden-corpus case: accepts decode and re-encode to exactly the canonical bytes; rejects
raise FrameError with the reference's kind and path."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import rrq_proto
from conftest import CORPUS, frame_of
from rrq_proto import FrameError, decode_frame, decode_message, encode_frame, encode_message


def test_corpus_is_present() -> None:
    assert len(CORPUS) > 100
    assert {c["verdict"] for c in CORPUS} == {"accept", "reject"}


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_case(case: dict[str, Any]) -> None:
    frame = frame_of(case)
    if case["verdict"] == "accept":
        canonical = base64.b64decode(case["canonical"])
        message = decode_frame(frame)
        assert encode_frame(message) == canonical
        assert encode_message(message) == canonical[rrq_proto.FRAME_HEADER_LEN :]
        assert json.loads(canonical[rrq_proto.FRAME_HEADER_LEN :]) == case["message"]
        # Canonical bytes are a fixed point.
        assert encode_frame(decode_frame(canonical)) == canonical
        assert decode_message(canonical[rrq_proto.FRAME_HEADER_LEN :]) == message
    else:
        expected = case["error"]
        with pytest.raises(FrameError) as info:
            decode_frame(frame)
        assert info.value.kind == expected["kind"], str(info.value)
        if "path" in expected:
            assert info.value.path == expected["path"], str(info.value)
        assert str(info.value).startswith(info.value.path + ": expected ")
        assert isinstance(info.value, ValueError)
