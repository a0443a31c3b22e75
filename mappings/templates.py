"""Knowledge templates: compiled in a sandbox with limits, tried on a sample transition when
the file loads, and rendered at run time within a time and size budget.

Jinja2's sandbox stops a template from reaching Python internals; it does not stop one
from running for hours or building a gigabyte string (`"x" * 10**9`, a string doubled in a
loop, `center(10**9)`). The environment below checks, on every call, attribute read,
intercepted operator and output chunk, that the render is inside its budget.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import wraps
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

#: the longest article a template may render, and the largest value it may build on the way
MAX_OUTPUT_CHARS = 1_000_000
#: seconds one render may take
RENDER_SECONDS = 5.0
#: a field width of millions: "%9999999s", "{:>9999999}"
_WIDE_FORMAT = re.compile(r"%[-+ #0]*\d{7,}|\{[^{}]*:[^{}]*\d{7,}[^{}]*\}")
#: str methods and filters whose arguments (after the value) are widths or counts
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_WIDTH_FILTERS = frozenset({"center", "indent", "wordwrap", "truncate", "batch", "slice"})


class TemplateLimitError(SecurityError):
    """A render that went over its time or size budget."""


def template_line(exc: BaseException) -> int | None:
    """The template line an exception was raised at (Jinja2 rewrites the traceback so that
    the template's own frames carry its lines), None when it is not known."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line if isinstance(line, int) else None


@dataclass
class _Budget:
    deadline: float
    seconds: float


_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _check_time() -> None:
    budget = _budget.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise TemplateLimitError(f"the template took longer than {budget.seconds:g} s to render")


def _check_size(value: Any) -> Any:
    if isinstance(value, str | list | tuple | dict) and len(value) > MAX_OUTPUT_CHARS:
        raise TemplateLimitError(f"the template built a value of {len(value):,} items "
                                 f"(at most {MAX_OUTPUT_CHARS:,})")
    return value


def _check_widths(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_OUTPUT_CHARS:
            raise TemplateLimitError(f"the template asks for a width of {arg:,} (at most "
                                     f"{MAX_OUTPUT_CHARS:,})")


def _check_format(text: object) -> None:
    if isinstance(text, str) and _WIDE_FORMAT.search(text):
        raise TemplateLimitError("the template asks for a field millions of characters wide")


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


class LimitedEnvironment(SandboxedEnvironment):
    """Jinja2's sandbox, with every call, attribute read, `*`, `**`, `+`, `%` and filter
    checked against the render's budget."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _limited(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_time()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(times, int) and _sized(seq) * max(times, 0) > MAX_OUTPUT_CHARS:
                    raise TemplateLimitError("the template multiplies a value past "
                                             f"{MAX_OUTPUT_CHARS:,} items")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and (
                    abs(left).bit_length() * right > 100_000):
                raise TemplateLimitError(f"the template raises a number to the power {right:,}")
        elif operator == "%":
            _check_format(left)
        return _check_size(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_time()
        bound = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        owner, name = getattr(bound, "__self__", None), getattr(bound, "__name__", "")
        if isinstance(owner, str) and name in _WIDTH_METHODS:
            _check_widths(args, kwargs)
        elif isinstance(owner, str) and name in ("format", "format_map"):
            _check_format(owner)
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _check_time()
        return _check_size(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        _check_time()
        return _check_size(super().getitem(obj, argument))


def _limited(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(f)
    def limited(*args: Any, **kwargs: Any) -> Any:
        _check_time()
        given = args[1:] if args and isinstance(args[0], Context | jinja2.Environment) else args
        if name in _WIDTH_FILTERS:
            _check_widths(given[1:], kwargs)  # the first is the value, the rest are widths
        elif name == "format" and given:
            _check_format(given[0])
        return _check_size(f(*args, **kwargs))

    return limited


def template_environment() -> LimitedEnvironment:
    """Where admins' knowledge templates compile: sandboxed, limited, and escaped (the
    output is HTML)."""
    return LimitedEnvironment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.ChainableUndefined)


def render_limited(template: jinja2.Template, context: dict[str, Any],
                   seconds: float | None = None) -> str:
    """Render within `seconds` and MAX_OUTPUT_CHARS; TemplateError (TemplateLimitError for
    a budget overrun) otherwise. The output is stripped."""
    seconds = RENDER_SECONDS if seconds is None else seconds
    token = _budget.set(_Budget(time.monotonic() + seconds, seconds))
    try:
        parts: list[str] = []
        size = 0
        for chunk in _generate(template, context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateLimitError(f"the article is longer than {MAX_OUTPUT_CHARS:,} characters")
            parts.append(chunk)
            _check_time()
        return "".join(parts).strip()
    except RecursionError as exc:
        raise _at(TemplateLimitError("the template recurses too deeply"), exc) from None
    except jinja2.TemplateError as exc:
        raise _at(exc, exc) from None
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, ZeroDivisionError,
            OverflowError) as exc:
        raise _at(jinja2.TemplateError(f"{type(exc).__name__}: {exc}"), exc) from None
    finally:
        _budget.reset(token)


def _at(error: jinja2.TemplateError, cause: BaseException) -> jinja2.TemplateError:
    """`error`, carrying the template line `cause` was raised at as `lineno`."""
    error.lineno = template_line(cause)  # type: ignore[attr-defined]
    return error


def _generate(template: jinja2.Template, context: dict[str, Any]) -> Iterator[str]:
    yield from template.generate(**context)


_TAG = re.compile(r"<[^>]*>")


def sample_context() -> dict[str, Any]:
    """A transition with every field filled, the way derivation passes it: what `validate`
    renders a template against."""
    from bridge.models import Contact, Milestone, Project, ServiceTransition, SourceRef

    ref = SourceRef(source="sample", stream="projects", key="SAMPLE")
    transition = ServiceTransition(
        id="sample:SAMPLE", service="Sample service", service_aliases=["Sample", "SMP"],
        projects=[ref], go_live=date(2026, 12, 1), service_manager="Sam Manager",
        receivers=["Service Desk"], resolver_group="Sample Support",
        milestones=[Milestone(kind="go_live", name="Go-live", due=date(2026, 12, 1))],
        contacts=[Contact(role="service_manager", name="Sam Manager", email="sam@example.com")],
        hypercare_end=date(2027, 1, 1),
        attributes={"description": "what the sample service does", "business_impact": "high",
                    "support_hours": "24x7", "sla": "99.9 %", "known_errors": ["KE-1"]},
    )
    project = Project.model_validate({"ref": ref.model_dump(), "key": "SAMPLE", "name": "Sample",
                                      "service": "Sample service"})
    return {"transition": transition, "service": transition.service,
            "attributes": transition.attributes, "projects": [project],
            "generated_at": datetime(2026, 11, 30, tzinfo=UTC).isoformat()}


def sample_problem(template: jinja2.Template,
                   seconds: float | None = None) -> tuple[int | None, str] | None:
    """(line, why) when `template` cannot stand as an article: it fails, goes over its
    budget, or renders no text on a sample transition. None when it renders."""
    try:
        html = render_limited(template, sample_context(), seconds)
    except jinja2.TemplateError as exc:
        return getattr(exc, "lineno", None), f"the template fails on a sample transition: {exc}"
    if not _TAG.sub("", html).strip():
        return None, "the template renders an empty article for a sample transition"
    return None
