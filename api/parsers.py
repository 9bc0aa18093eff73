"""The only parser of the partner API: one unambiguous JSON text, read within a hard limit.

What a body must be, whatever the endpoint (each refusal a 4xx in the error shape):
- at most the view's `max_body_bytes`, counted after decompression (413);
- `Content-Encoding` absent, `identity` or `gzip` (415 otherwise);
- UTF-8 without a byte order mark, whatever `charset` the Content-Type names: RFC 8259
  §8.1 and §11 define no other encoding and no charset parameter for JSON (400);
- JSON nested at most `MAX_DEPTH` levels, every number finite as an IEEE 754 double
  (RFC 8259 §6; `NaN` and `Infinity` are not JSON), no key twice in one object (400:
  `duplicate_key`, since two `session_id`s would leave it to the parser which one a
  check reads and which one is stored).
"""

import json
import math
import zlib
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import BaseParser

from api.exceptions import DuplicateKey, RequestTooLarge

# Valid bodies nest three levels ({"events": [{...}]}). The limit keeps anything that
# later walks or prints what was parsed far from Python's recursion limit.
MAX_DEPTH = 32

_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around deflate (RFC 1952)
# Compressed input is fed, and decompressed output taken, this much at a time: what a
# compression bomb can make the worker hold is the limit plus one chunk.
_CHUNK_BYTES = 64 * 1024


class LimitedJSONParser(BaseParser):
    """JSON only, refusing bodies over the view's `max_body_bytes` with a 413.

    A BaseParser rather than DRF's JSONParser on purpose: DRF reads the whole body into
    memory before calling a JSONParser (and Django refuses a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE there with an exception of its own), while any other
    parser gets the stream. Reading it here, a bounded chunk at a time, is what makes the
    limit hold before the body is held, decompressed or decoded.
    """

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        view = parser_context.get("view")
        limit = getattr(view, "max_body_bytes", settings.EVENTS_MAX_BODY_BYTES)
        request = parser_context.get("request")
        meta = request.META if request is not None else {}
        gzipped = _is_gzip(meta.get("HTTP_CONTENT_ENCODING", ""))
        # Compressed or not, a body longer than the limit is refused unread: compression
        # that makes a valid body longer than the limit has no use.
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:  # Django reads no body then: the stream is empty
            declared = 0
        if declared > limit:
            raise _too_large(limit)
        raw = _read_gzip(stream, limit) if gzipped else _read(stream, limit)
        return loads(raw)


def loads(raw: bytes) -> Any:
    """`raw` parsed as JSON by the rules of this module; ParseError when it breaks one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"The body is not valid UTF-8 (byte {exc.start}): JSON is always UTF-8."
        ) from exc
    if text.startswith("\ufeff"):
        raise ParseError("The body starts with a byte order mark: send JSON without one.")
    try:
        data = json.loads(
            text,
            object_pairs_hook=_object_without_duplicate_keys,
            parse_float=_FINITE_FLOAT,
            parse_int=_FINITE_INT,
            parse_constant=_refuse_constant,
        )
    except RecursionError as exc:  # thousands of levels: json gives up before _too_deep
        raise _nested_too_deep() from exc
    except ValueError as exc:
        raise ParseError(f"The body is not valid JSON: {exc}") from exc
    # Only a body with that many brackets can be that deep: single events skip the walk.
    if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(data):
        raise _nested_too_deep()
    return data


def _is_gzip(header: str) -> bool:
    coding = header.strip().lower()
    if coding in ("", "identity"):
        return False
    if coding == "gzip":
        return True
    raise UnsupportedMediaType(
        coding,
        detail=f'Content-Encoding "{header.strip()[:100]}" is not supported: send the body '
        "as is (identity) or gzip-compressed (gzip).",
    )


def _read(stream: Any, limit: int) -> bytes:
    raw: bytes = stream.read(limit + 1)
    if len(raw) > limit:
        raise _too_large(limit)
    return raw


def _read_gzip(stream: Any, limit: int) -> bytes:
    """The decompressed body, refused as soon as it (or what was sent) passes `limit`.

    Never asks zlib for more than a chunk at a time, so a compression bomb is refused
    after `limit` bytes of output, whatever it would have grown to. Several gzip members
    one after the other are one body (RFC 1952 §2.2), as `gunzip` reads them.
    """
    body = bytearray()
    decompressor = zlib.decompressobj(wbits=_GZIP_WBITS)
    received = 0
    while chunk := stream.read(_CHUNK_BYTES):
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        while chunk:
            if decompressor.eof:
                decompressor = zlib.decompressobj(wbits=_GZIP_WBITS)
            try:
                body += decompressor.decompress(chunk, min(_CHUNK_BYTES, limit + 1 - len(body)))
            except zlib.error as exc:
                raise ParseError(f"The body is not valid gzip: {exc}") from exc
            if len(body) > limit:
                raise _too_large(limit)
            chunk = decompressor.unused_data if decompressor.eof else decompressor.unconsumed_tail
    if not decompressor.eof:
        raise ParseError("The body is not valid gzip: it ends before the compressed data.")
    return bytes(body)


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"The request body is larger than {limit} bytes.")


def _nested_too_deep() -> ParseError:
    return ParseError(f"The body is nested more than {MAX_DEPTH} levels deep.")


def _too_deep(data: Any) -> bool:
    """Whether `data` holds containers more than MAX_DEPTH levels deep.

    A level at a time, with no recursion; written for speed, as it walks every value of a
    batch (a few hundred microseconds for 1,000 events).
    """
    level = [data] if type(data) in _CONTAINERS else []
    for _ in range(MAX_DEPTH):
        level = [
            child
            for child in chain.from_iterable(map(_children, level))
            if type(child) in _CONTAINERS
        ]
        if not level:
            return False
    return True


_CONTAINERS = frozenset({dict, list})  # the only ones json.loads (and the hook) makes


def _children(container: dict[str, Any] | list[Any]) -> Iterable[Any]:
    return container.values() if type(container) is dict else container


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) < len(pairs):
        raise DuplicateKey(
            f'The key "{_first_repeated(key for key, _ in pairs)[:100]}" appears more than '
            "once in one object: send each key once."
        )
    return obj


def _first_repeated(keys: Iterable[str]) -> str:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    raise AssertionError("no key is repeated")


def _finite(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """A parse_int/parse_float refusing numbers no IEEE 754 double can hold (`1e999999`).

    Checked through float() first, which takes any length in linear time: int() would be
    asked to convert thousands of digits.
    """

    def parse(text: str) -> Any:
        if not math.isfinite(float(text)):
            shown = text if len(text) <= 20 else f"{text[:20]}..."
            raise ParseError(
                f"The number {shown} is out of range: JSON numbers must fit in a double "
                "(at most about 1.8e308)."
            )
        return convert(text)

    return parse


_FINITE_FLOAT = _finite(float)
_FINITE_INT = _finite(int)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
