"""The sandboxed Jinja2 environments that email templates are rendered in.

Templates are written by workspace members and rendered by the worker, so the environment is
a security boundary. ``ImmutableSandboxedEnvironment`` refuses every way into Python's
internals (``__class__``, ``__globals__``, ``mro`` …) and every mutation of lists and dicts;
on top of it, resources are bounded so that no template can exhaust the worker:

* every ``for`` iteration and every call costs one step from a budget per render;
* values built by ``+ * % ** ~``, string methods and the widening filters are size-checked
  before (or, for ``~``, right after) they are built;
* the output is streamed and cut off past a limit;
* ``namespace`` (the only loop-carried state) and ``lipsum`` are not available.

Anything refused raises ``SecurityError``; the caller turns it into a clear error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

#: Longest string or list a template may build, and longest rendered output.
MAX_VALUE = 1_000_000
MAX_OUTPUT = 1_000_000
#: Loop iterations plus calls allowed in one render.
MAX_STEPS = 200_000
#: Format widths (``%9999s``, ``{:>9999}``) past this many digits are refused.
_WIDE = re.compile(r"\d{5,}")


@dataclass
class _Budget:
    steps: int = MAX_STEPS

    def spend(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise SecurityError("the template does too much work (too many loop steps or calls)")


_budget: ContextVar[_Budget | None] = ContextVar("tenure_template_budget", default=None)


def _spend() -> None:
    budget = _budget.get()
    if budget is not None:
        budget.spend()


def _check_size(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_VALUE:
        raise SecurityError(f"a value longer than {MAX_VALUE} would be built")
    return value


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


def _check_width(fmt: Any) -> None:
    if isinstance(fmt, str) and _WIDE.search(fmt):
        raise SecurityError("format widths above 9999 are not allowed")


def _budgeted_iter(iterable: Any) -> Iterator[Any]:
    for item in iterable:
        _spend()
        yield item


def _checked_join(value: Any) -> Any:
    return _check_size(value)


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "*", "%", "**"})

    def __init__(self, *, html: bool) -> None:
        super().__init__(
            autoescape=html,
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        for name in ("namespace", "lipsum"):
            self.globals.pop(name, None)
        self.globals["_tenure_iter"] = _budgeted_iter
        self.globals["_tenure_sized"] = _checked_join
        for name in ("center", "indent", "replace", "join", "format", "batch", "slice"):
            self.filters[name] = _guarded_filter(name, self.filters[name])

    # --- the AST: budget every loop, size-check every ``~`` -----------------------------------

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.Name("_tenure_iter", "load"), [loop.iter], [], None, None)
        for concat in list(tree.find_all(nodes.Concat)):
            inner = nodes.Concat(concat.nodes)
            call = nodes.Call(nodes.Name("_tenure_sized", "load"), [inner], [], None, None)
            concat.nodes = [call]  # a Concat of one item is the checked join itself
        tree.set_environment(self)
        return tree

    # --- operators and calls ------------------------------------------------------------------

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(right) > 1000 or left.bit_length() * abs(right) > 10_000:
                raise SecurityError("the power is too large")
        elif operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(count, int) and _size(seq) * count > MAX_VALUE:
                    raise SecurityError(f"a value longer than {MAX_VALUE} would be built")
        elif operator == "%":
            _check_width(left)
        elif operator == "+" and _size(left) + _size(right) > MAX_VALUE:
            raise SecurityError(f"a value longer than {MAX_VALUE} would be built")
        return _check_size(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            args = _precheck_str_method(owner, getattr(__obj, "__name__", ""), args, kwargs)
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:  # ``"…".format`` / ``format_map``: check the format string
            _check_width(value.__self__)
        return wrapped


def _precheck_str_method(
    text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Refuse string methods whose result would exceed the size limit (before building it)."""
    first = args[0] if args else None
    if name in {"center", "ljust", "rjust", "zfill"} and isinstance(first, int):
        if first > MAX_VALUE:
            raise SecurityError("the width is too large")
    elif name == "expandtabs":
        size = first if isinstance(first, int) else int(kwargs.get("tabsize", 8))
        if size * (text.count("\t") + 1) + len(text) > MAX_VALUE:
            raise SecurityError(f"a value longer than {MAX_VALUE} would be built")
    elif name == "replace" and len(args) >= 2:
        _check_replace(text, args[0], args[1])
    elif name == "join" and args:
        items = list(args[0])
        total = sum(_size(i) for i in items) + len(text) * len(items)
        if total > MAX_VALUE:
            raise SecurityError(f"a value longer than {MAX_VALUE} would be built")
        return (items, *args[1:])
    return args


def _check_replace(text: Any, old: Any, new: Any) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        count = text.count(old) if old else len(text) + 1
        if len(text) + count * max(len(new) - len(old), 0) > MAX_VALUE:
            raise SecurityError(f"a value longer than {MAX_VALUE} would be built")


def _guarded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a filter that can widen its input so it checks sizes first."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        # Filters marked pass_eval_context take it first; the value follows.
        values = [a for a in args if not _is_eval_ctx(a)]
        value = values[0] if values else None
        rest = values[1:]
        if name in {"center", "indent"}:
            width = rest[0] if rest else kwargs.get("width", 0)
            size = len(width) if isinstance(width, str) else width
            lines = str(value).count("\n") + 1
            if isinstance(size, int) and size * lines > MAX_VALUE:
                raise SecurityError("the width is too large")
        elif name == "replace" and len(rest) >= 2:
            _check_replace(str(value), rest[0], rest[1])
        elif name == "join":
            items = list(value or [])
            sep = rest[0] if rest else kwargs.get("d", "")
            if len(str(sep)) * len(items) + sum(len(str(i)) for i in items) > MAX_VALUE:
                raise SecurityError(f"a value longer than {MAX_VALUE} would be built")
            args = tuple(items if a is value else a for a in args)
        elif name == "format":
            _check_width(value)
        elif name in {"batch", "slice"}:
            count = rest[0] if rest else kwargs.get("linecount", kwargs.get("slices", 0))
            if isinstance(count, int) and count > 10_000:
                raise SecurityError(f"{name} takes at most 10000")
        return _check_size(original(*args, **kwargs))

    for marker in ("jinja_pass_arg",):  # keep pass_eval_context / pass_context markers
        if hasattr(original, marker):
            setattr(guarded, marker, getattr(original, marker))
    guarded.__name__ = getattr(original, "__name__", name)
    return guarded


def _is_eval_ctx(value: Any) -> bool:
    from jinja2.nodes import EvalContext

    return isinstance(value, EvalContext | Context)


@cache
def environment(*, html: bool) -> _Sandbox:
    """The text environment (subject, text body) or the HTML one (autoescaped), built once."""
    return _Sandbox(html=html)


@lru_cache(maxsize=256)
def compile_source(source: str, *, html: bool) -> Template:
    """Parse and compile (raises ``TemplateSyntaxError`` with the line)."""
    return environment(html=html).from_string(source)


def render(source: str, context: dict[str, Any], *, html: bool) -> str:
    """Render one template source under a fresh budget, streaming and capping the output."""
    template = compile_source(source, html=html)
    token = _budget.set(_Budget())
    try:
        out: list[str] = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise SecurityError(f"the rendered text is longer than {MAX_OUTPUT} characters")
            out.append(chunk)
        return "".join(out)
    finally:
        _budget.reset(token)
