"""JSON of any nesting depth: orjson, with a fallback for documents deeper than orjson allows.

socketteer/loom nests every node inside its parent (two JSON levels a node), and orjson refuses to
write more than 254 levels or to read more than 1024; Python's ``json`` stops near 1000. A Loom tree
a few hundred continuations deep is ordinary, and one 100,000 deep must still round-trip.

The fallback keeps orjson doing all the parsing and printing. A container is *deep* when more than a
safe number of levels nest inside it; deep containers are handled one at a time, each with its deep
children swapped for unique marker strings, so that orjson only ever sees shallow documents. The
deep containers form a chain or tree that is walked with an explicit stack, never by recursion.

orjson keeps the last value of a key that an object repeats; a second pass with Python's ``json``
refuses such documents, since in a tree file the lost value is a node.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import orjson

#: Levels of nesting handed to orjson at once, well inside its limits (254 to write, 1024 to read).
_WRITE_LEVELS = 128
_READ_LEVELS = 512

#: Everything up to the next bracket that is not inside a string, then that bracket. Possessive
#: quantifiers keep a failed match linear.
_NEXT_BRACKET = re.compile(rb'(?:[^"\[\]{}]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+([\[\]{}])', re.S)
_OPENERS = b"[{"


class RepeatedKeyError(ValueError):
    """An object of the document names one key twice, so one of its values would be lost."""


def loads(data: bytes | str) -> Any:
    """Parse a JSON document of any depth.

    Raises:
        orjson.JSONDecodeError (a ``ValueError``): the document is not valid JSON.
        RepeatedKeyError (a ``ValueError``): an object repeats a key.
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth limit" not in str(exc):
            raise
    else:
        try:
            _refuse_repeated_keys(data)
            return value
        except RecursionError:  # deeper than Python's json goes: checked span by span instead
            pass
    return _loads_deep(data.encode() if isinstance(data, str) else data)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise RepeatedKeyError(f"the key {key[:80]!r} appears twice in one object")
        seen.add(key)
    raise AssertionError("unreachable: fewer keys than pairs means one repeats")


def _refuse_repeated_keys(valid: bytes | str) -> None:
    """Raise RepeatedKeyError if an object of ``valid`` (a document orjson has parsed) repeats a key."""
    json.loads(valid, object_pairs_hook=_unique)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of a value of any depth."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        if "Recursion limit" not in str(exc):
            raise
    return _dumps_deep(value)


def _marker() -> str:
    # A random prefix per call: a document cannot hold it by chance, and a file cannot plant it.
    return f"\x00deep-json-{uuid.uuid4().hex}:"


# --- reading -----------------------------------------------------------------------------------

#: A deep container of the text: its span and its deep children, in order.
_Span = tuple[int, int, list[Any]]


def _loads_deep(data: bytes) -> Any:
    marker = _marker()
    document = (0, len(data), _deep_spans(data))
    value = _parse_span(data, document, marker)
    if value != f"{marker}0":
        return value
    top = document[2][0]
    result = _parse_span(data, top, marker)
    work = [(result, top[2])]
    while work:
        container, children = work.pop()
        found = 0
        for key, member in container.items() if isinstance(container, dict) else enumerate(container):
            if type(member) is str and member.startswith(marker):
                child = children[int(member[len(marker) :])]
                container[key] = _parse_span(data, child, marker)
                work.append((container[key], child[2]))
                found += 1
        if found != len(children):
            # A marker became an object key, or a repeated key dropped a value: no usable tree either way.
            raise orjson.JSONDecodeError("an object key is not a string, or is repeated", "", 0)
    return result


def _parse_span(data: bytes, span: _Span, marker: str) -> Any:
    """The value in ``span``, its deep children replaced by numbered markers."""
    start, end, children = span
    parts, at = [], start
    for index, (child_start, child_end, _) in enumerate(children):
        parts += [data[at:child_start], orjson.dumps(f"{marker}{index}")]
        at = child_end
    parts.append(data[at:end])
    text = b"".join(parts)
    value = orjson.loads(text)
    _refuse_repeated_keys(text)
    return value


def _deep_spans(data: bytes) -> list[_Span]:
    """The deep top-level containers of ``data``, each holding its own deep children.

    Only brackets are tracked; whether they pair up (``[`` with ``]``) is left to orjson, which parses
    every byte of the document as part of some span.
    """
    # Each open container: [start, levels nested inside so far, deep children].
    stack: list[list[Any]] = [[0, 0, []]]  # the document itself
    at = 0
    match = _NEXT_BRACKET.match
    while (found := match(data, at)) is not None:
        at = found.end()
        if data[at - 1] in _OPENERS:
            stack.append([at - 1, 0, []])
            continue
        if len(stack) == 1:
            raise orjson.JSONDecodeError(f"unbalanced {chr(data[at - 1])!r} at byte {at - 1}", "", at - 1)
        start, inner, deep_children = stack.pop()
        parent = stack[-1]
        if inner >= _READ_LEVELS:
            parent[2].append((start, at, deep_children))
        if inner >= parent[1]:
            parent[1] = inner + 1
    if len(stack) > 1:
        raise orjson.JSONDecodeError(f"the bracket at byte {stack[-1][0]} is never closed", "", stack[-1][0])
    return stack[0][2]


# --- writing -----------------------------------------------------------------------------------


def _dumps_deep(value: Any) -> bytes:
    levels = _levels(value)
    marker = _marker()
    out: list[bytes] = []
    # Work items are finished bytes, or containers still to print (popped from the end).
    work: list[Any] = [value]
    while work:
        item = work.pop()
        if isinstance(item, bytes):
            out.append(item)
            continue
        shallow, deep = _shallow_copy(item, levels, marker)
        printed = orjson.dumps(shallow)
        pieces: list[Any] = []
        at = 0
        for index, member in enumerate(deep):
            token = orjson.dumps(f"{marker}{index}")
            found = printed.index(token, at)
            pieces += [printed[at:found], member]
            at = found + len(token)
        pieces.append(printed[at:])
        work.extend(reversed(pieces))
    return b"".join(out)


def _shallow_copy(item: dict[str, Any] | list[Any], levels: dict[int, int], marker: str) -> tuple[Any, list[Any]]:
    """``item`` with its deep members replaced by numbered markers, and those members in order."""
    deep: list[Any] = []

    def swap(member: Any) -> Any:
        if levels.get(id(member), 0) <= _WRITE_LEVELS:
            return member
        deep.append(member)
        return f"{marker}{len(deep) - 1}"

    shallow = {key: swap(v) for key, v in item.items()} if isinstance(item, dict) else [swap(v) for v in item]
    return shallow, deep


def _levels(value: Any) -> dict[int, int]:
    """Levels of nesting inside each container of ``value`` (1 for a flat one), by ``id``."""
    levels: dict[int, int] = {}
    inside: set[int] = set()  # containers being measured: meeting one again is a cycle
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, done = stack.pop()
        members = item.values() if isinstance(item, dict) else item
        if done:
            levels[id(item)] = 1 + max((levels.get(id(m), 0) for m in members), default=0)
            inside.discard(id(item))
            continue
        if id(item) in inside:
            raise orjson.JSONEncodeError("a container holds itself: circular reference")
        inside.add(id(item))
        stack.append((item, True))
        stack.extend((m, False) for m in members if isinstance(m, dict | list))
    return levels
