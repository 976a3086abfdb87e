"""Request input, checked once at the edge before any view sees it.

- Every query parameter and form field (names and values) loses its control characters
  (`assetmap.values.strip_controls`: NUL, which PostgreSQL text cannot hold, and the rest),
  so a request answers the same on SpatiaLite and PostGIS. Line breaks stay; the field's own
  check folds them where a field is one line.
- JSON bodies are parsed with a nesting limit (a 50,000-deep array is a 400 naming the body,
  not a RecursionError), and their strings are cleaned like form fields.
- `<int:...>` in a route matches only ids a database integer column can hold (1 to 2^31-1,
  PostgreSQL's `integer`), so 2147483648 is a 404, never an overflow in the query.
- A body over MAX_CONTENT_LENGTH is a 413 whether or not it came with a Content-Length
  (chunked); Werkzeug raises it while reading. `received_form` gives back what such a form
  body carried up to the limit, so a form can come back filled in (never to be stored).
"""

from __future__ import annotations

import codecs
import io
import json
import math
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, Request
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter
from werkzeug.routing import ValidationError as NoMatch
from werkzeug.utils import cached_property
from werkzeug.wsgi import get_input_stream

from assetmap.errors import ValidationError
from assetmap.params import ID_MAX
from assetmap.values import strip_controls

#: Deepest nesting a JSON body may have; the API's documents need three or four levels.
MAX_JSON_DEPTH = 32


class CleanMultiDict(ImmutableMultiDict):
    """Query or form parameters with control characters removed from names and values."""

    def __init__(self, mapping: Any = None) -> None:
        if mapping is None:
            super().__init__()
            return
        super().__init__([(_clean(key), _clean(value))
                          for key, value in iter_multi_items(mapping)])


def _clean(value: Any) -> Any:
    return strip_controls(value) if isinstance(value, str) else value


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, list):
        return [_clean_json(item) for item in value]
    if isinstance(value, dict):
        return {strip_controls(key): _clean_json(item) for key, item in value.items()}
    return value


def json_depth(value: Any) -> int:
    """How deeply `value` nests lists and objects (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def loads_limited(data: str | bytes) -> Any:
    """JSON with at most MAX_JSON_DEPTH levels, its strings cleaned; ValidationError('body')
    when nested deeper; ValueError when it is not JSON at all."""
    try:
        value = json.loads(data, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        value, too_deep = None, True
    else:
        too_deep = json_depth(value) > MAX_JSON_DEPTH
    if too_deep:
        raise ValidationError("body", f"is nested more than {MAX_JSON_DEPTH} levels deep")
    return _clean_json(value)


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (Python's parser accepts them)."""
    raise ValidationError("body", f"{name} is not a JSON number")


def _finite(text: str) -> float:
    """A JSON number Python can hold: 1e400 would become infinity."""
    number = float(text)
    if not math.isfinite(number):
        raise ValidationError("body", f"{text[:20]} is too large a number")
    return number


class _LimitedJSON:
    """What Flask's `Request.json_module` needs: `loads` with the depth limit."""

    loads = staticmethod(loads_limited)
    dumps = staticmethod(json.dumps)


class _CappedStream(io.RawIOBase):
    """A body without a Content-Length (chunked), read up to `limit` bytes: one byte more is
    a 413. (Werkzeug's own wrapper stops at the limit without saying so, and the truncated
    JSON was then "not valid JSON".)"""

    def __init__(self, raw: Any, limit: int) -> None:
        self.raw, self.left, self.limit = raw, limit, limit
        # What was read, up to the limit: all that is left of the body after a 413.
        self.head = bytearray()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left < 0:
            raise RequestEntityTooLarge()
        data = self.raw.read(min(len(buffer), self.left + 1))
        self.left -= len(data)
        self.head += data[:self.limit - len(self.head)]
        if self.left < 0:
            raise RequestEntityTooLarge()
        buffer[:len(data)] = data
        return len(data)


class CleanRequest(Request):
    parameter_storage_class = CleanMultiDict

    @cached_property
    def stream(self) -> Any:
        limit = self.max_content_length
        if (limit is not None and self.content_length is None and not self.shallow
                and "wsgi.input_terminated" in self.environ):
            return _CappedStream(self.environ["wsgi.input"], limit)
        return get_input_stream(self.environ, max_content_length=limit)

    @property
    def json_module(self) -> Any:  # Flask's own is typed as the json module itself
        """Flask's own reads the app's JSON provider; this one limits depth and cleans."""
        return _LimitedJSON

    @json_module.setter
    def json_module(self, _provider: object) -> None:
        """Flask sets the app's JSON provider on each request; bodies keep this parser."""


FORM_TYPE = "application/x-www-form-urlencoded"
_PART_ESCAPE = re.compile(rb"%[0-9A-Fa-f]?$")


def received_form(request: Request) -> tuple[CleanMultiDict, str | None]:
    """What a form body refused as too large still carried: its first MAX_CONTENT_LENGTH bytes
    parsed as a urlencoded form (cleaned like any form), and the name of the field the limit
    cut through (its value kept as far as it came; None when no field was cut). Empty for any
    other kind of body, or when the body can no longer be read from its start."""
    limit = request.max_content_length or 0
    if request.mimetype != FORM_TYPE or limit <= 0:
        return CleanMultiDict(), None
    stream = request.__dict__.get("stream")
    if isinstance(stream, _CappedStream):  # chunked: read up to the limit before the 413
        data = bytes(stream.head)
    elif stream is None:  # a Content-Length over the limit: refused before any read
        data = request.environ["wsgi.input"].read(min(limit, request.content_length or limit))
    else:
        return CleanMultiDict(), None
    return parse_form_prefix(data)


def parse_form_prefix(data: bytes) -> tuple[CleanMultiDict, str | None]:
    """The fields in the start of a urlencoded body: every `name=value` followed by `&` is
    whole; the last piece was cut, and is kept (up to the cut, without half a character) only
    when its name arrived in full."""
    *whole, last = data.split(b"&")
    pairs = [_pair(piece) for piece in whole if piece]
    cut = None
    if b"=" in last:
        name, value = last.split(b"=", 1)
        pairs.append(_pair(name + b"=" + _PART_ESCAPE.sub(b"", value), partial=True))
        cut = pairs[-1][0]
    return CleanMultiDict([p for p in pairs if p[0]]), cut


def _pair(piece: bytes, *, partial: bool = False) -> tuple[str, str]:
    name, _, value = piece.partition(b"=")
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    text = decoder.decode(unquote_to_bytes(value.replace(b"+", b" ")), final=not partial)
    return unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8", "replace"), text


class IdConverter(IntegerConverter):
    """`<int:...>`: a positive whole number a database id column can hold."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = 1,  # noqa: A002
                 max: int | None = ID_MAX, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        if len(value) > len(str(ID_MAX)):  # int() of thousands of digits raises ValueError
            raise NoMatch()
        return super().to_python(value)


def init_app(app: Flask) -> None:
    """Install the cleaning request class and the id converter (before any route is added)."""
    app.request_class = CleanRequest
    app.url_map.converters["int"] = IdConverter
