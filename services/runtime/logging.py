"""JSON logs for every service, with secrets redacted before anything is written.

``configure_logging`` sends structlog and the standard library's ``logging``
(aiokafka, httpx, uvicorn, warnings) through one pipeline: context variables,
timestamp, level, service name, formatted tracebacks, then :func:`redact`, then
one JSON object per line rendered by orjson.

Redaction works two ways:

- by key: a value stored under a sensitive key (see ``SENSITIVE_KEY_PARTS``),
  however deep in dicts, lists, tuples, pydantic models, dataclasses or
  ``httpx.Headers``, becomes ``"[REDACTED]"``;
- by shape, inside free text (messages, exception text, tracebacks): credentials
  after ``Bearer``/``Basic``/``Digest``, ``key=value`` and ``"key": "value"`` pairs
  whose key is sensitive, and passwords in URLs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import logging
import re
import sys
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import IO, Any, Final

import httpx
import orjson
import structlog
from pydantic import BaseModel, SecretBytes, SecretStr
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = [
    "NON_SENSITIVE_KEYS",
    "REDACTED",
    "SENSITIVE_KEY_PARTS",
    "configure_logging",
    "get_logger",
    "is_sensitive_key",
    "redact",
    "redact_event",
    "redact_text",
]

REDACTED: Final = "[REDACTED]"

# The one list of what counts as secret. A key is sensitive when, lower-cased and
# stripped of '-', '_', '.' and spaces, it contains one of these parts; so
# "X-Api-Key", "api_key" and "apiKey" all match "apikey", and any
# "x-<sender>-signature" header matches "signature".
SENSITIVE_KEY_PARTS: Final = frozenset(
    {
        "token",  # access, refresh, id and operator tokens; X-Auth-Token
        "password",
        "passwd",
        "passphrase",
        "secret",  # client secrets, webhook secrets, user secrets
        "apikey",
        "devkey",
        "accesskey",
        "privatekey",
        "masterkey",  # the vault's key ring
        "signingkey",
        "credential",
        "authorization",  # Authorization, Proxy-Authorization
        "cookie",  # Cookie, Set-Cookie
        "sessionid",
        "sessiontoken",
        "signature",
        "jwt",
    }
)
# Keys that contain a part above yet hold no secret (compared after the same normalising).
NON_SENSITIVE_KEYS: Final = frozenset({"tokentype", "tokenurl", "tokenendpoint", "tokenexpiresat"})

_MAX_DEPTH: Final = 32
_AUTH_SCHEMES: Final = r"(?:bearer|basic|digest)"
# Where a match may start over and over (keys, schemes, URL prefixes) its length is
# bounded, and no text is scanned twice as a value: a long line costs linear time.
_SCHEME_CREDENTIAL: Final = re.compile(
    rf"\b(?P<scheme>{_AUTH_SCHEMES})(?P<space>[ \t]{{1,8}})"
    r"(?P<credential>[A-Za-z0-9\-._~+/]{6,}={0,2})(?![\w\-.~+/=])",
    re.IGNORECASE,
)
_URL_PASSWORD: Final = re.compile(
    r"(?P<prefix>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://[^/\s:@]{0,256}:)"
    r"(?P<password>[^/\s@]{1,256})(?P<at>@)"
)
_KEY_AND_SEPARATOR: Final = re.compile(
    r"(?<![\w.-])(?P<key>[A-Za-z_][\w.-]{0,63})[\"']?[ \t]{0,8}[:=][ \t]{0,8}"
)
# Matched only after a sensitive key, so a value is never scanned for a key that is not.
_VALUE: Final = re.compile(
    # An already masked value is taken whole, so masking twice changes nothing.
    rf"{re.escape(REDACTED)}"
    r"|\"[^\"\n]{0,1024}\"|'[^'\n]{0,1024}'"
    rf"|[\"']?(?:{_AUTH_SCHEMES}[ \t]{{1,8}})?[^\s\"'&,;)}}\]]+",
    re.IGNORECASE,
)
_NORMALISE_KEY: Final = str.maketrans("", "", "-_. ")
# Values orjson writes as they are and that cannot hold a secret by themselves.
_PLAIN_TYPES: Final = (
    bool,
    int,
    float,
    dt.datetime,
    dt.date,
    dt.time,
    dt.timedelta,
    uuid.UUID,
    decimal.Decimal,
    enum.Enum,
    PurePath,
)


def is_sensitive_key(key: object) -> bool:
    """Whether a value stored under ``key`` is a secret (case-insensitive, see module doc)."""
    text = key.decode("utf-8", "replace") if isinstance(key, bytes | bytearray) else str(key)
    normalised = text.lower().translate(_NORMALISE_KEY)
    if normalised in NON_SENSITIVE_KEYS:
        return False
    return any(part in normalised for part in SENSITIVE_KEY_PARTS)


def redact_text(text: str) -> str:
    """Mask credentials in free text: auth schemes, sensitive ``key=value`` pairs, URL passwords."""
    text = _URL_PASSWORD.sub(rf"\g<prefix>{REDACTED}\g<at>", text)
    # Pairs before bare schemes, so "Authorization: Bearer x" is masked whole.
    text = _mask_sensitive_pairs(text)
    return _SCHEME_CREDENTIAL.sub(rf"\g<scheme>\g<space>{REDACTED}", text)


def _mask_sensitive_pairs(text: str) -> str:
    # A hand-driven scan rather than re.sub: when a key is not sensitive the scan
    # resumes right after its separator, so in "ValueError: password=x" the
    # value of "ValueError" is looked at again as the pair "password=x".
    pieces: list[str] = []
    position = 0
    while pair := _KEY_AND_SEPARATOR.search(text, position):
        pieces.append(text[position : pair.end()])
        position = pair.end()
        if not is_sensitive_key(pair["key"]):
            continue
        value = _VALUE.match(text, position)
        if value is None:
            continue
        quote = value[0][0] if value[0][0] in {'"', "'"} else ""
        closing = quote if value[0].endswith(quote) and len(value[0]) > 1 else ""
        pieces.append(f"{quote}{REDACTED}{closing}")
        position = value.end()
    pieces.append(text[position:])
    return "".join(pieces)


def redact(value: object) -> object:
    """A copy of ``value`` fit to log: secrets under sensitive keys and in text are masked.

    Mappings become dicts, sets become lists, pydantic models and dataclasses
    become dicts, bytes are decoded, exceptions become their masked text, and
    objects of other types become their masked ``str()``.
    """
    return _redact(value, depth=0)


def _redact(value: object, *, depth: int) -> object:  # noqa: PLR0911 - one return per kind of value
    if depth > _MAX_DEPTH:
        return "[TRUNCATED]"
    if value is None or isinstance(value, _PLAIN_TYPES):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, SecretStr | SecretBytes):
        return REDACTED
    if isinstance(value, BaseModel):
        return _redact(value.model_dump(mode="json"), depth=depth + 1)
    if isinstance(value, httpx.Headers):
        return _redact_pairs(value.multi_items(), depth=depth)
    if isinstance(value, Mapping):
        return {_plain_key(k): _redact_entry(k, v, depth=depth) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return _redact_sequence(value, depth=depth)
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return _redact(fields, depth=depth + 1)
    return redact_text(_safe_str(value))


def _redact_entry(key: object, value: object, *, depth: int) -> object:
    # A flag or an absent value carries no secret, and keeping them lets a log
    # say whether a signature or a token was present at all.
    if is_sensitive_key(key) and not (value is None or isinstance(value, bool)):
        return REDACTED
    return _redact(value, depth=depth + 1)


def _redact_sequence(
    items: list[Any] | tuple[Any, ...] | set[Any] | frozenset[Any], *, depth: int
) -> list[object] | tuple[object, ...]:
    redacted = [_redact_item(item, depth=depth) for item in items]
    return tuple(redacted) if isinstance(items, tuple) else redacted


def _redact_item(item: object, *, depth: int) -> object:
    # Header lists (httpx multi_items, ASGI scope headers) are (name, value) pairs.
    if isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str | bytes):
        pair = (_plain_key(item[0]), _redact_entry(item[0], item[1], depth=depth))
        return pair if isinstance(item, tuple) else list(pair)
    return _redact(item, depth=depth + 1)


def _redact_pairs(pairs: list[tuple[str, str]], *, depth: int) -> dict[str, Any]:
    redacted: dict[str, Any] = {}
    for name, value in pairs:
        masked = _redact_entry(name, value, depth=depth)
        # A repeated header (Set-Cookie) keeps every value, as a list.
        if name in redacted:
            previous = redacted[name]
            redacted[name] = (
                [*previous, masked] if isinstance(previous, list) else [previous, masked]
            )
        else:
            redacted[name] = masked
    return redacted


def _plain_key(key: object) -> object:
    return key.decode("utf-8", "replace") if isinstance(key, bytes | bytearray) else key


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # a log line must not fail because an object cannot print itself
        return f"<unprintable {type(value).__name__}>"


def redact_event(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: :func:`redact` over every entry of the event."""
    return {key: _redact_entry(key, value, depth=0) for key, value in event_dict.items()}


def _render_json(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> str:
    return orjson.dumps(event_dict, default=_json_fallback, option=orjson.OPT_NON_STR_KEYS).decode()


def _json_fallback(value: object) -> str:
    return redact_text(_safe_str(value))


def _add_service(service: str) -> Processor:
    def add_service(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


class _PipelineHandler(logging.StreamHandler[IO[str]]):
    """The handler configure_logging installs on the root logger (replaced on reconfiguring)."""


_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def configure_logging(*, service: str, level: str = "info", stream: IO[str] | None = None) -> None:
    """Send structlog and stdlib logs of this process as redacted JSON lines to ``stream``.

    ``stream`` defaults to standard error, so a CLI's standard output stays its
    own. Calling again replaces the previous configuration. Run uvicorn with
    ``log_config=None`` so its loggers reach this pipeline.
    """
    numeric_level = _LEVELS.get(level.lower())
    if numeric_level is None:
        raise ValueError(f"unknown log level {level!r}: choose one of {', '.join(_LEVELS)}")

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _add_service(service),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached, so configuring again (a test, a CLI option) reaches loggers already made.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redact_event,
            _render_json,
        ],
    )
    handler = _PipelineHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, _PipelineHandler)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    # httpx logs every request at INFO with its full URL; services.runtime.http
    # already logs each answer once, redacted, so httpx's own line is noise.
    logging.getLogger("httpx").setLevel(max(numeric_level, logging.WARNING))
    logging.captureWarnings(True)


def get_logger(name: str | None = None, **initial_values: object) -> structlog.stdlib.BoundLogger:
    """A structlog logger that goes through the configured pipeline."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name, **initial_values)
    return logger
