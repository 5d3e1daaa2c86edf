"""Docker's ``--format`` Go templates, evaluated by a small, strict interpreter (no ``eval``).

Supported, as Go's ``text/template`` and Docker's CLI define them:

* text with actions ``{{ ... }}``, trim markers ``{{-`` and ``-}}``, comments ``{{/* ... */}}``;
* ``.`` and field paths ``.Config.Image``; a field that is a method takes arguments
  (``{{.Label "com.docker.compose.service"}}``);
* ``{{range X}}...{{end}}`` (``.`` is each element), ``{{if X}}...{{else}}...{{end}}``;
* functions: Docker's ``json``, ``join``, ``split``, ``upper``, ``lower``, ``title``,
  ``truncate``, ``pad`` and Go's ``index``, ``len``, ``print``, ``println``, ``not``, ``eq``,
  ``ne``; arguments are fields, ``"strings"``, `` `raw strings` `` and integers.
* a ``table`` prefix: a header row (the fields' column names) and columns aligned at ``\\t``,
  as ``docker ps --format 'table {{.ID}}\\t{{.Names}}'`` prints them.

Anything else (pipelines ``|``, variables ``$x``, ``with``, ``template``) is refused with one
clear line naming it. Values print as Go's ``%v`` does (``[a b]``, ``map[k:v]``, ``true``,
``<no value>``); ``json`` marshals as Go's ``encoding/json`` does (compact, ``<>&`` escaped).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lbdemo.errors import UsageError

TABLE = "table"
UNSUPPORTED = (
    "lbdemo supports fields, range, if/else and the functions json, join, split, "
    "upper, lower, title, truncate, pad, index, len, print, println, not, eq, ne"
)


class TemplateError(UsageError):
    """A template that cannot be parsed or run; one line, Go's wording where there is one."""


class Context:
    """A formatter's object: named fields (values, or callables for methods with arguments).

    ``type_name`` is what an unknown field's error names, as Go names Docker's context types.
    """

    def __init__(self, fields: Mapping[str, Any], type_name: str) -> None:
        self.fields = dict(fields)
        self.type_name = type_name


# -- parsing ---------------------------------------------------------------------------------


@dataclass
class _Text:
    text: str


@dataclass
class _Action:
    words: list[str]
    source: str


@dataclass
class _Block:
    kind: str  # "range" or "if"
    cond: _Action
    body: list[Any] = field(default_factory=list)
    else_body: list[Any] = field(default_factory=list)


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_WORD = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|[^\s"`]+')


def _fail(message: str) -> TemplateError:
    return TemplateError(f"template: :1: {message}")


def _lex(template: str) -> list[_Text | _Action]:
    items: list[_Text | _Action] = []
    pos = 0
    for match in _ACTION.finditer(template):
        text = template[pos : match.start()]
        if match[1]:
            text = text.rstrip()
        items.append(_Text(text))
        body = match[2].strip()
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise _fail("unclosed comment")
        else:
            if "|" in _strip_strings(body):
                raise _fail(f"pipelines ('|') are not supported: {{{{{body}}}}}; {UNSUPPORTED}")
            words = _WORD.findall(body)
            if not words:
                raise _fail("missing value for command")
            items.append(_Action(words, body))
        pos = match.end()
        if match[3]:
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip())
    tail = template[pos:]
    if "{{" in tail:
        raise _fail("unclosed action")
    items.append(_Text(tail))
    return items


def _strip_strings(body: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', body)


def parse(template: str) -> list[Any]:
    """The template as a tree of text, actions and blocks; TemplateError if malformed."""
    root: list[Any] = []
    stack: list[tuple[_Block, bool]] = []  # (block, in its else part)
    current = root
    for item in _lex(template):
        if isinstance(item, _Text):
            if item.text:
                current.append(item)
            continue
        head = item.words[0]
        if head in ("range", "if"):
            if len(item.words) < 2:
                raise _fail(f"missing value for {head}")
            block = _Block(head, _Action(item.words[1:], item.source))
            current.append(block)
            stack.append((block, False))
            current = block.body
        elif head == "else":
            if not stack or stack[-1][1] or len(item.words) > 1:
                raise _fail("unexpected {{else}}")
            block = stack[-1][0]
            stack[-1] = (block, True)
            current = block.else_body
        elif head == "end":
            if not stack:
                raise _fail("unexpected {{end}}")
            stack.pop()
            if stack:
                block, in_else = stack[-1]
                current = block.else_body if in_else else block.body
            else:
                current = root
        elif head.startswith("$") or head in (
            "with",
            "template",
            "define",
            "block",
            "break",
            "continue",
        ):
            raise _fail(f"{{{{{item.source}}}}} is not supported; {UNSUPPORTED}")
        else:
            current.append(item)
    if stack:
        raise _fail("unexpected EOF")
    return root


# -- running ---------------------------------------------------------------------------------


def go_value(value: Any) -> str:
    """Go's ``%v``."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if value != int(value) or abs(value) >= 1e21 else str(int(value))
    if isinstance(value, Context):
        return "{" + " ".join(go_value(v) for v in value.fields.values() if not callable(v)) + "}"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    return str(value)


def go_json(value: Any) -> str:
    """Go's ``json.Marshal``: compact, and ``<``, ``>``, ``&`` escaped as ``\\u003c`` etc."""
    if isinstance(value, Context):
        value = {k: v for k, v in value.fields.items() if not callable(v)}
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, int | float | str | list | tuple | dict):
        return bool(value)
    return True


def _index(container: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(container, Mapping):
            container = container.get(key)
        elif isinstance(container, list | tuple) and isinstance(key, int):
            if not 0 <= key < len(container):
                raise _fail(f"error calling index: index out of range: {key}")
            container = container[key]
        else:
            raise _fail(f"error calling index: cannot index {go_value(container)}")
    return container


def _truncate(text: Any, length: int) -> str:
    s = go_value(text)
    return s[:length]


def _pad(text: Any, before: int, after: int) -> str:
    return " " * before + go_value(text) + " " * after


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "json": go_json,
    "join": lambda items, sep: sep.join(go_value(i) for i in (items or [])),
    "split": lambda text, sep: go_value(text).split(sep),
    "upper": lambda text: go_value(text).upper(),
    "lower": lambda text: go_value(text).lower(),
    "title": lambda text: go_value(text).title(),
    "truncate": _truncate,
    "pad": _pad,
    "index": _index,
    "len": lambda v: len(v) if v is not None else 0,
    "print": lambda *v: "".join(go_value(x) for x in v),
    "println": lambda *v: " ".join(go_value(x) for x in v) + "\n",
    "not": lambda v: not _truthy(v),
    "eq": lambda a, *bs: any(a == b for b in bs),
    "ne": lambda a, b: a != b,
}


def _literal(word: str) -> tuple[bool, Any]:
    if word.startswith('"'):
        try:
            return True, json.loads(word)
        except ValueError:
            raise _fail(f"unquote: invalid syntax: {word}") from None
    if word.startswith("`"):
        return True, word[1:-1]
    if re.fullmatch(r"-?\d+", word):
        return True, int(word)
    if word in ("true", "false"):
        return True, word == "true"
    if word == "nil":
        return True, None
    return False, None


def _field(dot: Any, path: str, source: str) -> Any:
    value = dot
    for name in path.split(".")[1:]:
        if not name:
            continue
        where = f'executing "" at <{source}>'
        if isinstance(value, Context):
            if name not in value.fields:
                raise _fail(f"{where}: can't evaluate field {name} in type {value.type_name}")
            value = value.fields[name]
        elif isinstance(value, Mapping):
            if name not in value:
                raise _fail(f'{where}: map has no entry for key "{name}"')
            value = value[name]
        else:
            kind = "interface {}" if value is None else type(value).__name__
            raise _fail(f"{where}: can't evaluate field {name} in type {kind}")
    return value


def _argument(dot: Any, word: str, source: str) -> Any:
    known, value = _literal(word)
    if known:
        return value
    if word.startswith("."):
        value = _field(dot, word, source)
        if callable(value):
            raise _fail(f"{word}: a method that takes arguments cannot be an argument")
        return value
    raise _fail(
        f'function "{word}" not defined'
        if word.isidentifier()
        else f"unexpected {word!r} in command; {UNSUPPORTED}"
    )


def _command(dot: Any, action: _Action) -> Any:
    head, rest = action.words[0], action.words[1:]
    if head.startswith("."):
        value = _field(dot, head, action.source)
        args = [_argument(dot, w, action.source) for w in rest]
        if callable(value):
            try:
                return value(*args)
            except TypeError:
                raise _fail(f"{head}: wrong number of args") from None
        if args:
            raise _fail(f"{head} is not a method but has arguments")
        return value
    known, literal = _literal(head)
    if known:
        if rest:
            raise _fail(f"{head} is not a command")
        return literal
    func = FUNCTIONS.get(head)
    if func is None:
        raise _fail(
            f'function "{head}" not defined'
            if head.isidentifier()
            else f"unexpected {head!r}; {UNSUPPORTED}"
        )
    args = [_argument(dot, w, action.source) for w in rest]
    try:
        return func(*args)
    except TypeError:
        raise _fail(f"wrong number of args for {head}") from None
    except (AttributeError, ValueError) as exc:
        raise _fail(f"error calling {head}: {exc}") from None


def _render(nodes: Sequence[Any], dot: Any, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Action):
            out.append(go_value(_command(dot, node)))
        elif node.kind == "if":
            _render(node.body if _truthy(_command(dot, node.cond)) else node.else_body, dot, out)
        else:  # range
            items = _command(dot, node.cond)
            if isinstance(items, Mapping):
                items = [items[k] for k in sorted(items)]
            elif items is None:
                items = []
            elif not isinstance(items, list | tuple):
                raise _fail(f"range can't iterate over {go_value(items)}")
            if not items:
                _render(node.else_body, dot, out)
            for item in items:
                _render(node.body, item, out)


@dataclass(frozen=True)
class Template:
    source: str
    nodes: list[Any]
    table: bool

    def render(self, dot: Any) -> str:
        out: list[str] = []
        _render(self.nodes, dot, out)
        return "".join(out)


def compile_format(fmt: str) -> Template:
    """A ``--format`` value as Docker's CLI reads it: an optional ``table`` prefix, then the
    template, with the two-character escapes ``\\t`` and ``\\n`` made real tabs and newlines."""
    is_table = fmt.startswith(TABLE)
    body = fmt[len(TABLE) :] if is_table else fmt
    body = body.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    return Template(fmt, parse(body), is_table)


def tabwrite(lines: Sequence[str]) -> str:
    """Go's tabwriter as Docker's CLI sets it (min width 10, padding 3): cells end at tabs;
    the text after a line's last tab is not aligned."""
    rows = [line.split("\t") for line in lines]
    columns = max((len(r) - 1 for r in rows), default=0)
    widths = []
    for i in range(columns):
        lengths = [len(r[i]) for r in rows if len(r) - 1 > i]
        widths.append(max(10, max(lengths, default=0) + 3))
    out: list[str] = []
    for r in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(r[:-1])]
        out.append(("".join(cells) + r[-1]).rstrip())
    return "\n".join(out)


def format_items(fmt: str, items: Sequence[Any], header: Any = None) -> str:
    """Every item through the template, one per line; with ``table``, a header from ``header``
    (a context whose fields are the column names) and aligned columns. No trailing newline."""
    template = compile_format(fmt)
    lines = [template.render(item) for item in items]
    if not template.table:
        return "\n".join(lines)
    head = [template.render(header)] if header is not None else []
    return tabwrite("".join(line + "\n" for line in head + lines).splitlines())


def render_inspect(template: Template, obj: Any) -> str:
    """``inspect -f``'s output for one object; errors worded as Docker's inspect words them."""
    try:
        return template.render(obj)
    except TemplateError as exc:
        raise TemplateError(f"template parsing error: {exc}") from None
