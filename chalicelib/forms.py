"""Strict parsing of the small HTML forms we post to ourselves."""

from __future__ import annotations

from urllib.parse import parse_qsl

from chalicelib.errors import BadForm

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 4096
MAX_FIELDS = 16


def parse_form(body: bytes | None, content_type: str | None) -> dict[str, str]:
    """Fields of a urlencoded form; a repeated field, a foreign content type or a garbled body is BadForm."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != FORM_CONTENT_TYPE:
        raise BadForm(reason="bad_form_content_type")
    raw = body or b""
    if len(raw) > MAX_FORM_BYTES:
        raise BadForm(reason="bad_form_too_large")
    try:
        text = raw.decode("ascii")  # a urlencoded body is ASCII; anything else is not from our form
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadForm(reason="bad_form_encoding") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise BadForm(reason="bad_form_duplicate_field")
        fields[name] = value
    return fields
