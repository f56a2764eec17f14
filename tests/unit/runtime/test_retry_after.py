"""Reading Retry-After, and the bounds of the backoff between retries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.retry import RetryPolicy, backoff_delay, parse_retry_after

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120.0), ("0", 0.0), ("  7 ", 7.0), ("86400", 86400.0)],
)
def test_delta_seconds_are_read_as_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_an_http_date_in_the_future_is_the_seconds_until_then() -> None:
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:30 GMT", now=NOW) == 30.0


def test_an_http_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=NOW) == 0.0


def test_the_obsolete_rfc_850_date_form_is_read_too() -> None:
    assert parse_retry_after("Sunday, 01-Mar-26 12:01:00 GMT", now=NOW) == 60.0


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "soon", "-5", "1.5", "12 seconds", "\u0661\u0662", "Sun, 99 Foo 2026 GMT"],
)
def test_an_unreadable_value_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


@given(st.text(max_size=40))
def test_no_header_value_makes_parsing_raise(value: str) -> None:
    seconds = parse_retry_after(value, now=NOW)
    assert seconds is None or seconds >= 0


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)))
def test_a_date_the_server_formats_comes_back_as_the_same_wait(moment: datetime) -> None:
    when = moment.replace(microsecond=0, tzinfo=UTC)
    header = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    expected = max(0.0, (when - NOW).total_seconds())
    assert parse_retry_after(header, now=NOW) == expected


def test_backoff_doubles_from_the_base_until_the_ceiling() -> None:
    policy = RetryPolicy(base_backoff=0.5, max_backoff=3.0, jitter=0.0)
    delays = [backoff_delay(policy, n, draw=0.7) for n in range(1, 6)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]


@given(retry_number=st.integers(1, 40), draw=st.floats(0.0, 1.0, exclude_max=True))
def test_jitter_only_ever_shortens_a_wait_by_its_share(retry_number: int, draw: float) -> None:
    policy = RetryPolicy(base_backoff=0.25, max_backoff=10.0, jitter=0.5)
    ceiling = min(10.0, 0.25 * 2 ** (retry_number - 1))
    delay = backoff_delay(policy, retry_number, draw=draw)
    assert ceiling * 0.5 <= delay <= ceiling


def test_full_jitter_spans_zero_to_the_ceiling() -> None:
    policy = RetryPolicy(base_backoff=1.0, max_backoff=8.0, jitter=1.0)
    assert backoff_delay(policy, 3, draw=0.0) == 4.0
    assert backoff_delay(policy, 3, draw=0.999) == pytest.approx(0.004)


@pytest.mark.parametrize(
    "options",
    [
        {"max_attempts": 0},
        {"base_backoff": -1.0},
        {"base_backoff": 5.0, "max_backoff": 1.0},
        {"jitter": 1.5},
        {"max_retry_after": -1.0},
    ],
)
def test_a_nonsensical_policy_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="invalid RetryPolicy"):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_the_default_policy_is_valid_and_retries_a_few_times() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts > 1
    assert backoff_delay(policy, 1, draw=0.0) == policy.base_backoff
