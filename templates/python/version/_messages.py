{{ c.header -}}
"""The texts the runner writes for protocol {{ c.version_text }}, identical in every language: the
messages of the errors it reports itself (``x-rrq.error_messages`` of the schema) and the texts
of frame-level `FrameError`s. ``{placeholder}``s are filled in by `format_message`.
"""

from __future__ import annotations

from {{ c.up }}_text import format_message

__all__ = ["ERROR_MESSAGES", "FRAME_MESSAGES", "error_message"]

ERROR_MESSAGES: dict[str, tuple[str, str]] = {
{%- for m in c.error_messages %}
    {{ m.name }}: ({{ m.text }}, {{ m.error_type }}),
{%- endfor %}
}
"""The runner's own error messages by name: ``(template, error type)``."""

FRAME_MESSAGES: dict[str, str] = {
{%- for m in c.frame_messages %}
    {{ m.name }}: {{ m.text }},
{%- endfor %}
}
"""The texts of frame-level errors (length and JSON causes) by name, after ``<path>: ``."""

def error_message(name: str, **values: object) -> str:
    """The runner's error message `name` with its placeholders filled in."""
    return format_message(ERROR_MESSAGES[name][0], **values)
