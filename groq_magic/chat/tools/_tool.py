"""A Python callable described as a Groq tool: name, description, JSON schema, validator.

The schema and the argument validator come from one pydantic model built from the
signature, so what the model is told and what is checked can never disagree.
Parameters become fields under a private name (``p0``, ``p1``...) with the
parameter's name as the alias: any parameter name works, even ``json`` or
``model_config``, and the schema and validation errors still use the real name.

Unannotated parameters. simonw/llm treats them as strings; chatlab refuses the
function. We follow llm, because notebook functions are often written in a hurry,
with one refinement: a default value's type is used when there is one
(``def f(n=3)`` takes an integer, ``def f(x=None)`` an optional string).

Types pydantic can validate from JSON are accepted beyond the basic ones
(``datetime``, ``date``, ``UUID``, ``Decimal``...: the model sends a string and the
function gets the object). A type with no JSON schema (an arbitrary class, a
callable) is a :class:`ToolError` naming the parameter.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import typing
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model
from pydantic.json_schema import PydanticJsonSchemaWarning

from groq_magic.chat.errors import ChatError
from groq_magic.chat.tools._docstring import parse_docstring
from groq_magic.chat.tools._schema import tidy_parameters

__all__ = ["Tool", "ToolError", "describe_tool", "make_tool", "tool"]

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__groq_tool__"
_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")
_HINT = (
    "annotate it as str (or int, float, bool, a list or dict of them, a pydantic model,"
    " an Enum or a Literal)"
)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class ToolError(ChatError, ValueError):
    """A callable cannot be described as a tool, or ``--tools`` names something that is not one."""


@dataclass(frozen=True)
class _Override:
    """What ``@tool(name=..., description=...)`` set on a function."""

    name: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class _Param:
    """How a validated field goes back into the call."""

    field: str
    name: str
    positional_only: bool
    default: Any


@dataclass(eq=False, frozen=True)
class Tool:
    """A callable with its Groq tool definition and the validator for its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., Any]
    is_async: bool
    arguments_model: type[BaseModel]
    _params: tuple[_Param, ...]

    @property
    def definition(self) -> dict[str, Any]:
        """``{"type": "function", "function": {"name", "description", "parameters"}}``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def bind(self, arguments: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Validate JSON arguments; ``(args, kwargs)`` for the call.

        Raises :class:`pydantic.ValidationError`. Only the arguments the model sent are
        passed, so the function's own defaults apply to the rest.
        """
        values = self.arguments_model.model_validate(arguments)
        given = values.model_fields_set
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for param in self._params:
            if param.positional_only:
                # Positional-only values cannot be skipped: a missing one takes its default.
                if param.field in given:
                    args.append(getattr(values, param.field))
                elif param.default is not inspect.Parameter.empty:
                    args.append(param.default)
            elif param.field in given:
                kwargs[param.name] = getattr(values, param.field)
        return args, kwargs


def describe_tool(fn: Callable[..., Any]) -> dict[str, Any]:
    """The Groq tool definition of a callable; raises :class:`ToolError` when it has none."""
    return make_tool(fn).definition


_CACHE = "__groq_magic_tool__"


def _fingerprint(fn: Any, fallback_name: str | None) -> tuple[Any, ...]:
    """What a description depends on, besides the function object itself."""
    return (
        fallback_name,
        repr(getattr(fn, _MARK, None)),
        getattr(fn, "__doc__", None),
        repr(getattr(fn, "__annotations__", None)),
        repr(getattr(fn, "__defaults__", None)),
        repr(getattr(fn, "__kwdefaults__", None)),
    )


def make_tool(fn: Callable[..., Any] | Tool, fallback_name: str | None = None) -> Tool:
    """Describe ``fn`` as a :class:`Tool` (a Tool is returned as it is).

    ``fallback_name`` names a callable that has no usable name of its own (a lambda,
    say): ``resolve_tools`` passes the notebook variable's name. The description is
    kept on the function, so the next cell with ``--tools`` does not build it again
    (building the arguments model costs milliseconds); a redefined function is a
    new object, and an edited docstring, annotation or default changes the key.
    """
    if isinstance(fn, Tool):
        return fn
    key = _fingerprint(fn, fallback_name)
    cached = getattr(fn, _CACHE, None)
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == key:
        tool: Tool = cached[1]
        return tool
    tool = _describe(fn, fallback_name)
    with contextlib.suppress(AttributeError, TypeError):  # bound methods take no attributes
        setattr(fn, _CACHE, (key, tool))
    return tool


def _describe(fn: Callable[..., Any], fallback_name: str | None) -> Tool:
    override = getattr(fn, _MARK, None)
    if not isinstance(override, _Override):
        override = _Override()
    name = _tool_name(fn, override.name, fallback_name)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"tool {name}: its signature cannot be read ({exc})") from None
    doc = parse_docstring(inspect.getdoc(_doc_source(fn)))
    hints = _type_hints(name, fn, signature)
    fields, params = _fields(name, signature, hints, doc.params)
    model = _arguments_model(name, fields)
    return Tool(
        name=name,
        description=override.description if override.description is not None else doc.summary,
        parameters=tidy_parameters(_json_schema(model)),
        fn=fn,
        is_async=_is_async(fn),
        arguments_model=model,
        _params=tuple(params),
    )


@overload
def tool(fn: F, /) -> F: ...


@overload
def tool(
    fn: str | None = None, /, *, name: str | None = None, description: str | None = None
) -> Callable[[F], F]: ...


def tool(fn: Any = None, /, *, name: str | None = None, description: str | None = None) -> Any:
    """Mark a function as a tool, optionally naming and describing it.

    ``@tool``, ``@tool("weather")`` and ``@tool(name=..., description=...)`` all work;
    the function itself is returned, unchanged apart from the mark. The signature is
    checked at once (except for methods in a class body, which are checked when bound),
    so an undescribable parameter fails in the cell that defines the function.
    """
    if isinstance(fn, str):
        name, fn = fn, None

    def mark(func: F) -> F:
        setattr(func, _MARK, _Override(name=name, description=description))
        if not _looks_like_unbound_method(func):
            make_tool(func)
        return func

    return mark(fn) if fn is not None else mark


# ---- naming and introspection ------------------------------------------------------------


def _underlying(fn: Any) -> Any:
    """The plain function behind a partial, a bound method or a callable object."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.ismethod(fn):
        return fn.__func__
    if inspect.isfunction(fn) or inspect.isclass(fn):
        return fn
    return type(fn).__call__ if callable(fn) else fn


def _doc_source(fn: Any) -> Any:
    """Where the description is read: a callable object's ``__call__``, else its class."""
    inner = _underlying(fn)
    if inner is not fn and not isinstance(fn, functools.partial) and not inspect.ismethod(fn):
        return inner if inspect.getdoc(inner) else type(fn)
    return inner


def _tool_name(fn: Any, override: str | None, fallback: str | None) -> str:
    inner = _underlying(fn)
    own = getattr(inner, "__name__", None)
    if own == "__call__":
        own = type(fn).__name__
    for candidate in (override, own if own != "<lambda>" else None, fallback):
        if candidate:
            clean = _NAME_BAD.sub("_", candidate).strip("_")[:64]
            if clean:
                return clean
    raise ToolError(
        f"tool {own or fn!r}: it has no name a model can call; use def, or @tool(name=...)"
    )


def _is_async(fn: Any) -> bool:
    inner = _underlying(fn)
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(inner)


def _looks_like_unbound_method(func: Any) -> bool:
    """A function defined in a class body, seen before it is bound (``self`` unfilled)."""
    parts = getattr(func, "__qualname__", "").split(".")
    if len(parts) < 2 or parts[-2] == "<locals>":
        return False
    try:
        first = next(iter(inspect.signature(func).parameters), None)
    except (TypeError, ValueError):
        return False
    return first in ("self", "cls")


def _type_hints(name: str, fn: Any, signature: inspect.Signature) -> dict[str, Any]:
    """Resolved annotations (``Annotated`` kept); an unresolvable one names its parameter."""
    source = _underlying(fn)
    try:
        return typing.get_type_hints(source, include_extras=True)
    except Exception:
        pass  # whatever failed is found again, parameter by parameter, below
    hints: dict[str, Any] = {}
    namespace = getattr(source, "__globals__", {})
    for param in signature.parameters.values():
        annotation = _resolve(name, param.name, param.annotation, namespace)
        if annotation is not inspect.Parameter.empty:
            hints[param.name] = annotation
    return hints


def _resolve(name: str, param: str, annotation: Any, namespace: dict[str, Any]) -> Any:
    """Evaluate a string annotation as get_type_hints would, naming the parameter on failure.

    Code compiled under ``from __future__ import annotations`` can quote a quoted
    annotation (``"'Missing'"``), so a string that evaluates to a string is evaluated again.
    """
    for _ in range(2):
        if not isinstance(annotation, str):
            return annotation
        text = annotation
        try:
            annotation = eval(text, namespace)  # the user's own annotation, as typing does
        except Exception as exc:
            raise ToolError(
                f"tool {name}: parameter '{param}' has annotation '{text}',"
                f" which cannot be resolved ({type(exc).__name__}: {exc})"
            ) from None
    return annotation


def _unannotated_type(default: Any) -> Any:
    """The type of an unannotated parameter: its default's, else str (see the module doc)."""
    if default is None:
        return str | None
    if isinstance(default, bool | int | float | str):
        return type(default)
    if isinstance(default, list):
        return list[Any]
    if isinstance(default, dict):
        return dict[str, Any]
    return str


def _annotated_description(annotation: Any) -> str | None:
    """``Annotated[int, "how many"]`` (simonw/llm's convention) gives a description."""
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, str):
                return meta
    return None


def _fields(
    name: str,
    signature: inspect.Signature,
    hints: Mapping[str, Any],
    described: Mapping[str, str],
) -> tuple[dict[str, Any], list[_Param]]:
    fields: dict[str, Any] = {}
    params: list[_Param] = []
    for index, param in enumerate(signature.parameters.values()):
        if param.kind in _VARIADIC:
            stars = "*" if param.kind is inspect.Parameter.VAR_POSITIONAL else "**"
            raise ToolError(
                f"tool {name}: parameter '{stars}{param.name}' cannot be described: a tool"
                " takes named JSON arguments; give the function named parameters"
            )
        annotation = hints.get(param.name, inspect.Parameter.empty)
        if annotation is inspect.Parameter.empty:
            no_default = param.default is inspect.Parameter.empty
            annotation = str if no_default else _unannotated_type(param.default)
        description = _annotated_description(annotation) or described.get(param.name)
        default = ... if param.default is inspect.Parameter.empty else param.default
        field = f"p{index}"
        fields[field] = (annotation, Field(default, alias=param.name, description=description))
        params.append(
            _Param(
                field, param.name, param.kind is inspect.Parameter.POSITIONAL_ONLY, param.default
            )
        )
    return fields, params


# ---- the pydantic model ---------------------------------------------------------------


def _arguments_model(name: str, fields: dict[str, Any]) -> type[BaseModel]:
    config = ConfigDict(extra="forbid", protected_namespaces=(), arbitrary_types_allowed=False)
    try:
        model = create_model(f"{name}_arguments", __config__=config, **fields)
        _json_schema(model)
    except Exception as exc:
        raise _describe_failure(name, fields, exc) from None
    return model


def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    with warnings.catch_warnings():
        # A default JSON cannot hold (an object, say) is left out of the schema; fine.
        warnings.simplefilter("ignore", PydanticJsonSchemaWarning)
        return model.model_json_schema()


def _describe_failure(name: str, fields: Mapping[str, Any], exc: Exception) -> ToolError:
    for annotation, info in fields.values():
        try:
            TypeAdapter(annotation).json_schema()
        except Exception:
            return ToolError(
                f"tool {name}: parameter '{info.alias}' has type {_type_name(annotation)},"
                f" which has no JSON schema; {_HINT}"
            )
    first = " ".join(str(exc).split())[:200]
    return ToolError(f"tool {name}: its parameters cannot be described ({first})")


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
