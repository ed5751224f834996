"""The form parser: any body and content type gives fields or a BadForm, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import BadForm
from chalicelib.forms import parse_form

FORM = "application/x-www-form-urlencoded"


def test_fields_of_a_form() -> None:
    assert parse_form(b"csrf_token=abc&decision=allow", FORM) == {"csrf_token": "abc", "decision": "allow"}


def test_parameters_of_the_content_type_are_allowed() -> None:
    assert parse_form(b"a=1", "Application/X-WWW-Form-Urlencoded; charset=UTF-8") == {"a": "1"}


def test_an_empty_form_has_no_fields() -> None:
    assert parse_form(b"", FORM) == {}
    assert parse_form(None, FORM) == {}


def test_percent_encoded_values_are_decoded() -> None:
    assert parse_form(b"a=%C3%A9+x", FORM) == {"a": "\u00e9 x"}


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"a=1&a=2", FORM, "bad_form_duplicate_field"),
        (b"a=1", "text/plain", "bad_form_content_type"),
        (b"a=1", None, "bad_form_content_type"),
        (b"a=1", "application/x-www-form-urlencodedx", "bad_form_content_type"),
        (b"a=\xff", FORM, "bad_form_encoding"),
        (b"a=%ff", FORM, "bad_form_encoding"),
        (b"a", FORM, "bad_form_encoding"),
        (b"x" * 4097, FORM, "bad_form_too_large"),
    ],
)
def test_bad_forms_are_refused_with_a_reason(body: bytes, content_type: str | None, reason: str) -> None:
    with pytest.raises(BadForm) as caught:
        parse_form(body, content_type)
    assert caught.value.reason == reason


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=5000), content_type=st.one_of(st.none(), st.just(FORM), st.text(max_size=60)))
def test_any_input_gives_fields_or_bad_form(body: bytes, content_type: str | None) -> None:
    try:
        fields = parse_form(body, content_type)
    except BadForm:
        return
    assert all(isinstance(name, str) and isinstance(value, str) for name, value in fields.items())
