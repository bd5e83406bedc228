"""GitHub Actions expressions: literals, context paths, ==, !=, !, &&, || and the status calls."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|&&|\|\||!|\(|\))|(?P<name>[A-Za-z_][\w.\-*]*))"
)
_EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def tokenize(text: str) -> list[tuple[str, str]]:
    """Split an expression into (kind, text) tokens."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read expression at {text[pos:]!r}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


def truthy(value: Any) -> bool:
    """GitHub's truthiness: false, 0, '', null are false."""
    return value not in (None, False, 0, "")


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def to_number(value: Any) -> float:
    """GitHub's coercion: null 0, true 1, false 0, '' 0, a JSON number string its value,
    anything else NaN."""
    kind = _kind(value)
    if kind in ("null", "boolean", "number"):
        return float(value or 0)
    if kind == "string":
        text = value.strip()
        if text == "":
            return 0.0
        return float(text) if _JSON_NUMBER.fullmatch(text) else math.nan
    return math.nan


def _equal(a: Any, b: Any) -> bool:
    """GitHub's loose `==`: same types compare as such (strings ignoring case, objects by
    identity); different types compare as numbers, so `null == ''` and `'1' == 1` hold."""
    kind = _kind(a)
    if kind != _kind(b):
        return to_number(a) == to_number(b)  # NaN equals nothing
    if kind == "string":
        return bool(a.casefold() == b.casefold())
    if kind == "object":
        return a is b
    return bool(a == b)


class _Parser:
    def __init__(
        self, text: str, context: Mapping[str, Any], funcs: Mapping[str, Callable[[], Any]]
    ) -> None:
        self.tokens = tokenize(text)
        self.pos = 0
        self.context = context
        self.funcs = funcs

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise ValueError(f"unexpected {self.peek()!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.eq()
        while self.peek() == "&&":
            self.take()
            right = self.eq()
            value = right if truthy(value) else value
        return value

    def eq(self) -> Any:
        value = self.unary()
        while self.peek() in ("==", "!="):
            op = self.take()[1]
            right = self.unary()
            value = _equal(value, right) if op == "==" else not _equal(value, right)
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if text == "(":
            value = self.or_()
            self.take()
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text) if "." in text else int(text)
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        if self.peek() == "(":
            self.take()
            self.take()  # status functions take no arguments
            return self.funcs[text]()
        return self.lookup(text)

    def lookup(self, path: str) -> Any:
        value: Any = self.context
        for part in path.split("."):
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        return value


def evaluate(
    text: str,
    context: Mapping[str, Any],
    funcs: Mapping[str, Callable[[], Any]] | None = None,
) -> Any:
    """The value of one expression (without the `${{ }}`)."""
    return _Parser(text, context, funcs or {}).parse()


def interpolate(text: str, context: Mapping[str, Any]) -> str:
    """A string with every `${{ expr }}` replaced by its value ('' for null)."""

    def one(m: re.Match[str]) -> str:
        value = evaluate(m.group(1), context)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return _EMBEDDED.sub(one, text)


def condition(text: str | bool | None, context: Mapping[str, Any], funcs: Any) -> bool:
    """Whether a step's `if:` holds; no `if:` means `success()`."""
    if text is None:
        return bool(funcs["success"]())
    if isinstance(text, bool):
        return text
    stripped = text.strip()
    m = _EMBEDDED.fullmatch(stripped)
    expr = m.group(1) if m else stripped
    value = evaluate(expr, context, funcs)
    uses_status = any(f"{name}(" in expr for name in funcs)
    return truthy(value) and (uses_status or bool(funcs["success"]()))
