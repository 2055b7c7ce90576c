{{ c.header -}}
"""The accelerated decoder of protocol {{ c.version_text }} (the ``fast`` extra: msgspec).

msgspec decodes and validates a frame body natively into the shadow structs below (one per
type of the schema: the same fields and defaults, unknown fields refused, timestamps read as
strings), which are then converted to the models, timestamps parsed by the package's own
parser. `decode` answers None wherever msgspec's verdict or values could differ from the
reference's: any error, an unknown field (whose value msgspec would skip unchecked), and a body
the pre-check flags (a possible integer ``-0``, a run of 19 or more digits, deep nesting) when
the decoded values give a reason to look (an integer 0 or a big integer in any-JSON, a number
field that reads 0: msgspec reads the token ``-0`` as 0 and keeps big integers, where the
reference reads floats), and a body with more openers than the nesting limit (msgspec has no
limit of its own; a duplicate key's replaced value counts too). The caller then takes the exact path, which owns
every verdict and every error message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from {{ c.up }}_frames import _Bad, _new
from {{ c.up }}_json import MAX_NESTING_DEPTH, MSGSPEC, msgspec_may_differ, parse_timestamp
{%- if c.uses_any %}
from {{ c.up }}_json import suspect_any as _suspect
{%- endif %}
from ._models import (
{%- for name in c.codec_imports %}
{%- if name != "MAX_FRAME_LEN" %}
    {{ name }},
{%- endif %}
{%- endfor %}
)

__all__ = ["decode"]

_ts = parse_timestamp


decode: Callable[[bytes], {{ c.root }} | None] | None = None
"""Decodes a frame body with msgspec where it provably agrees with the exact path, else answers
None; None itself without msgspec."""

# Not type-checked (mypy skips the block): the shadows' bases and class options are msgspec's,
# which the package must type-check without.
if not TYPE_CHECKING and MSGSPEC is not None:
    Struct = MSGSPEC.Struct
    Meta = MSGSPEC.Meta
    field = MSGSPEC.field
{% for s in c.structs %}
    class _M_{{ s.name }}(Struct, kw_only=True, forbid_unknown_fields=True):
{%- for line in s.fast_fields %}
        {{ line }}
{%- else %}
        pass
{%- endfor %}
{% endfor %}
{%- for u in c.unions %}
{%- for (shadow, tag_field, tag, content) in u.fast_variants %}
    class {{ shadow }}(Struct, tag_field={{ tag_field }}, tag={{ tag }}, forbid_unknown_fields=True):
        {{ content }}
{% endfor %}
{%- endfor %}
{%- for s in c.structs %}
    def _c_{{ s.name }}(s: Any) -> {{ s.name }}:
{%- for line in s.fast_convert %}
        {{ line }}
{%- endfor %}
{% endfor %}
{%- for u in c.unions %}
    def _c_{{ u.name }}(s: Any) -> {{ u.name }}:
{%- for line in u.fast_convert %}
        {{ line }}
{%- endfor %}
{% endfor %}
    # The checks: whether a shadow holds a value msgspec may have read otherwise than the
    # reference (then the body's pre-check decides).
{%- for s in c.structs %}
    def _k_{{ s.name }}(s: Any) -> bool:
{%- for line in s.fast_check %}
        {{ line }}
{%- endfor %}
{% endfor %}
{%- for u in c.unions %}
    def _k_{{ u.name }}(s: Any) -> bool:
{%- for line in u.fast_check %}
        {{ line }}
{%- endfor %}
{% endfor %}
    _decode_body = MSGSPEC.json.Decoder({{ c.fast_root }}).decode
    _convert = _c_{{ c.root }}
    _check = _k_{{ c.root }}

    def _decode(body: bytes) -> {{ c.root }} | None:
        # The nesting of the whole text counts, also inside values a duplicate key replaces.
        if body.count(b"[") + body.count(b"{") > MAX_NESTING_DEPTH:
            return None
        try:
            s = _decode_body(body)
            # Only values that might read otherwise (a 0, a big integer) cost the scan of the
            # body for number tokens.
{%- if let Some(lines) = c.fast_root_lines %}
{%- for line in lines %}
            {{ line }}
{%- endfor %}
{%- else %}
            if _check(s) and msgspec_may_differ(body):
                return None
            return _convert(s)
{%- endif %}
        except Exception:  # noqa: BLE001 - any doubt: the exact path decides
            return None

    decode = _decode
