"""url_path keeps every value inside its own segment, as far as the request httpx sends.

The property is checked on the final request URL, not on our string: httpx removes dot
segments itself (``/a/../b`` is sent as ``/b``), so only what reaches ``raw_path`` counts.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.url_paths import UnsafePathSegmentError, path_segment, url_path

TEMPLATE = "/events/account/{account_id}/events/callbacks/{callback_id}"
FIXED = {0: "", 1: "events", 2: "account", 4: "events", 5: "callbacks"}
ORIGIN = "https://api.vendor.test"

# Plain text rarely holds the characters that matter, so they are offered on purpose too.
TRICKY = st.sampled_from(["/", "?", "#", "%", ".", "..", "%2F", "%2E", "\\", ";", "@", ":", " "])
VALUES = st.text() | st.lists(TRICKY | st.text(max_size=3)).map("".join)


def refused(value: str) -> bool:
    return value in {"", ".", ".."} or any(
        unicodedata.category(c) in {"Cc", "Cf", "Cs"} for c in value
    )


def sent_segments(path: str) -> tuple[list[str], httpx.URL]:
    url = httpx.Request("PUT", ORIGIN + path).url
    assert url.query == b""
    assert url.fragment == ""
    return url.raw_path.decode("ascii").split("/"), url


@given(account_id=VALUES, callback_id=VALUES)
def test_any_value_stays_one_segment_of_the_sent_url(account_id: str, callback_id: str) -> None:
    if refused(account_id) or refused(callback_id):
        with pytest.raises(UnsafePathSegmentError):
            url_path(TEMPLATE, account_id=account_id, callback_id=callback_id)
        return
    segments, _ = sent_segments(url_path(TEMPLATE, account_id=account_id, callback_id=callback_id))
    assert len(segments) == len(TEMPLATE.split("/"))
    assert {i: segments[i] for i in FIXED} == FIXED
    assert unquote(segments[3]) == account_id
    assert unquote(segments[6]) == callback_id


@given(value=VALUES)
def test_a_client_base_url_keeps_the_value_in_its_segment(value: str) -> None:
    if refused(value):
        return
    client = httpx.Client(base_url=ORIGIN + "/api/")
    url = client.build_request("GET", url_path("/items/{id}/notes", id=value)).url
    assert url.query == b""
    segments = url.raw_path.decode("ascii").split("/")
    assert segments[:3] == ["", "api", "items"]
    assert segments[4:] == ["notes"]
    assert unquote(segments[3]) == value


@given(number=st.integers())
def test_integers_are_their_decimal_text(number: int) -> None:
    assert url_path("/staffs/{id}", id=number) == f"/staffs/{number}"


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("123", "123"),
        ("../../users/me", "..%2F..%2Fusers%2Fme"),
        ("1?x=1", "1%3Fx%3D1"),
        ("1%2F..%2Fusers", "1%252F..%252Fusers"),
        ("1/2", "1%2F2"),
        ("a#b", "a%23b"),
        ("...", "..."),
        ("ä b", "%C3%A4%20b"),
    ],
)
def test_known_attacks_arrive_as_one_encoded_segment(value: str, sent: str) -> None:
    segments, _ = sent_segments(url_path(TEMPLATE, account_id="aC3mE7", callback_id=value))
    assert segments == ["", "events", "account", "aC3mE7", "events", "callbacks", sent]


def test_httpx_itself_removes_a_literal_dot_dot_segment() -> None:
    # Why "." and ".." are refused rather than encoded: quote() leaves dots alone.
    assert httpx.Request("GET", ORIGIN + "/a/b/../c").url.raw_path == b"/a/c"
    assert path_segment("..a") == "..a"


@pytest.mark.parametrize("value", ["", ".", "..", "1\n", "a\x00b", "\x7f", "a\u202eb", "\ud800"])
def test_values_no_encoding_can_make_safe_are_refused(value: str) -> None:
    with pytest.raises(UnsafePathSegmentError) as raised:
        path_segment(value)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("template", "values"),
    [
        ("/x/{a}b", {"a": "1"}),  # a placeholder is a whole segment
        ("/x/{a}{b}", {"a": "1", "b": "2"}),
        ("/x/{a!r}", {"a": "1"}),
        ("/x/{a:>4}", {"a": "1"}),
        ("x/{a}", {"a": "1"}),  # a path, from its root
        ("/x/{a}?q=1", {"a": "1"}),  # no query in a path template
        ("/x/{a}", {}),  # a placeholder without a value
        ("/x/{a}", {"a": "1", "b": "2"}),  # a value without a placeholder
    ],
)
def test_template_mistakes_are_value_errors_not_unsafe_values(
    template: str, values: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="path template") as raised:
        url_path(template, **values)
    assert not isinstance(raised.value, UnsafePathSegmentError)
