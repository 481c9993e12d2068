"""Python functions as Live tools: declarations from signatures and docstrings, dispatch of
``toolCall``s, cancellation by ``toolCallCancellation``.

```python
def get_weather(city: str, unit: Literal["C", "F"] = "C") -> dict:
    \"\"\"Current weather in a city.

    Args:
        city: the city name, e.g. Paris
        unit: temperature unit
    \"\"\"
    return {"summary": "sunny", "temp": 21}
```
becomes ``{"name": "get_weather", "description": "Current weather in a city.",
"parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING", "description":
"the city name, e.g. Paris"}, "unit": {"type": "STRING", "enum": ["C", "F"], …}},
"required": ["city"]}}``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import inspect
import logging
import re
import types
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ..wire.content import FunctionCall, FunctionResponse, Scheduling
from ..wire.setup import FunctionDeclaration, Schema, Tool

log = logging.getLogger("openlive.client.tools")

Behavior = Literal["BLOCKING", "NON_BLOCKING"]


@dataclass
class ToolResult:
    """Return this from a tool to set the reply's ``scheduling``/``willContinue``
    (NON_BLOCKING functions), instead of a plain value."""

    response: Any = None
    scheduling: Scheduling | None = None
    will_continue: bool | None = None


@dataclass
class RegisteredTool:
    name: str
    function: Callable[..., Any]
    declaration: FunctionDeclaration
    scheduling: Scheduling | None = None


_SIMPLE = {str: "STRING", int: "INTEGER", float: "NUMBER", bool: "BOOLEAN",
           bytes: "STRING", type(None): "NULL"}


def schema_for(hint: Any, description: str | None = None) -> Schema:
    """The OpenAPI-subset Schema of a Python type hint."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        extra = next((a for a in args[1:] if isinstance(a, str)), None)
        return schema_for(args[0], description or extra)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            inner = schema_for(rest[0], description)
            return inner.model_copy(update={"nullable": True} if len(rest) < len(args) else {})
        return Schema(any_of=[schema_for(a) for a in rest], description=description,
                      nullable=True if len(rest) < len(args) else None)
    if origin is Literal:
        values = list(args)
        if all(isinstance(v, str) for v in values):
            return Schema(type="STRING", enum=values, description=description)
        kind = _SIMPLE.get(type(values[0]), "STRING")
        return Schema(type=kind, description=description)  # enum is strings-only in the proto
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return Schema(type="STRING", enum=[str(m.value) for m in hint], description=description)
    if hint in _SIMPLE:
        return Schema(type=_SIMPLE[hint], description=description)
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple, set, frozenset):
        item = args[0] if args else None
        return Schema(type="ARRAY", items=schema_for(item) if item not in (None, Ellipsis)
                      else None, description=description)
    if origin is dict or hint is dict:
        return Schema(type="OBJECT", description=description)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = typing.get_type_hints(hint, include_extras=True)
        props = {f.name: schema_for(hints.get(f.name, Any)) for f in dataclasses.fields(hint)}
        required = [f.name for f in dataclasses.fields(hint)
                    if f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING]
        return Schema(type="OBJECT", properties=props, required=required or None,
                      description=description)
    if isinstance(hint, type) and hasattr(hint, "model_json_schema"):  # pydantic model
        return Schema(type="OBJECT", description=description)
    # Any, unannotated or unknown: a string is what every model can produce.
    return Schema(type="STRING", description=description)


_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters|Params)\s*:\s*$", re.IGNORECASE)
_SECTION = re.compile(r"^\s*(Returns?|Raises?|Yields?|Examples?|Notes?)\s*:\s*$", re.IGNORECASE)
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
_SPHINX = re.compile(r"^\s*:param\s+(?:[\w\[\], |]+\s+)?(\w+)\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str | None, dict[str, str]]:
    """(summary, {param: description}) from Google-style ``Args:`` or Sphinx ``:param:``."""
    if not doc:
        return None, {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    section = "summary"
    current: str | None = None
    for line in lines:
        if _ARGS_HEADER.match(line):
            section, current = "args", None
            continue
        if _SECTION.match(line):
            section, current = "other", None
            continue
        sphinx = _SPHINX.match(line)
        if sphinx:
            params[sphinx.group(1)] = sphinx.group(2).strip()
            current, section = sphinx.group(1), "sphinx"
            continue
        if line.strip().startswith(":"):
            section, current = "other", None
            continue
        if section == "summary":
            if not line.strip() and summary:
                section = "body"
            elif line.strip():
                summary.append(line.strip())
        elif section == "args":
            m = _ARG_LINE.match(line)
            indent = len(line) - len(line.lstrip())
            if m and indent <= 4 and (current is None or indent <= _arg_indent(lines, current)):
                current = m.group(1).lstrip("*")
                params[current] = m.group(3).strip()
            elif current and line.strip():
                params[current] = (params[current] + " " + line.strip()).strip()
        elif section == "sphinx" and current and line.strip():
            params[current] = (params[current] + " " + line.strip()).strip()
    return (" ".join(summary) or None), params


def _arg_indent(lines: list[str], name: str) -> int:
    for line in lines:
        m = _ARG_LINE.match(line)
        if m and m.group(1).lstrip("*") == name:
            return len(line) - len(line.lstrip())
    return 0


def declaration_for(function: Callable[..., Any], *, name: str | None = None,
                    description: str | None = None,
                    behavior: Behavior | None = None) -> FunctionDeclaration:
    """A FunctionDeclaration generated from a function's signature and docstring."""
    summary, param_docs = parse_docstring(inspect.getdoc(function))
    sig = inspect.signature(function)
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to no hints
        hints = {}
    props: dict[str, Schema] = {}
    required: list[str] = []
    for pname, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        schema = schema_for(hints.get(pname, Any), param_docs.get(pname))
        if param.default is not inspect.Parameter.empty and param.default is not None \
                and isinstance(param.default, str | int | float | bool):
            schema = schema.model_copy(update={"default": param.default})
        props[pname] = schema
        if param.default is inspect.Parameter.empty:
            required.append(pname)
    params = Schema(type="OBJECT", properties=props, required=required or None) if props else None
    return FunctionDeclaration(name=name or function.__name__,
                               description=description or summary,
                               parameters=params, behavior=behavior)


class ToolRegistry:
    """Functions the model may call. Sync functions run in a worker thread, async ones as
    tasks; either may return a value (a dict is sent as the response, anything else as
    ``{"result": value}``) or a :class:`ToolResult`. An exception is answered with
    ``{"error": "…"}`` so the model can recover."""

    def __init__(self, functions: list[Callable[..., Any]] | None = None) -> None:
        self._tools: dict[str, RegisteredTool] = {}
        for fn in functions or ():
            self.register(fn)

    def register(self, function: Callable[..., Any] | None = None, *, name: str | None = None,
                 description: str | None = None, behavior: Behavior | None = None,
                 scheduling: Scheduling | None = None) -> Any:
        """Add a function; usable as ``@registry.register`` or ``@registry.register(...)``."""
        def add(fn: Callable[..., Any]) -> Callable[..., Any]:
            decl = declaration_for(fn, name=name, description=description, behavior=behavior)
            assert decl.name is not None
            self._tools[decl.name] = RegisteredTool(decl.name, fn, decl, scheduling)
            return fn
        return add(function) if function is not None else add

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        return list(self._tools)

    def declarations(self) -> list[FunctionDeclaration]:
        return [t.declaration for t in self._tools.values()]

    def tool(self) -> Tool:
        """The ``setup.tools`` entry holding every declaration."""
        return Tool(function_declarations=self.declarations())

    async def call(self, call: FunctionCall) -> FunctionResponse:
        """Run one call and build its FunctionResponse (cancellable while it runs)."""
        registered = self._tools.get(call.name or "")
        if registered is None:
            return FunctionResponse(id=call.id, name=call.name,
                                    response={"error": f"unknown function {call.name!r}"})
        args = call.args or {}
        fn = registered.function
        try:
            if inspect.iscoroutinefunction(fn):
                value = await fn(**args)
            else:
                value = await asyncio.to_thread(fn, **args)
                if inspect.isawaitable(value):
                    value = await value
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the model gets the error and can say so
            log.warning("tool %s failed: %s", registered.name, exc)
            return FunctionResponse(id=call.id, name=call.name,
                                    response={"error": f"{type(exc).__name__}: {exc}"})
        scheduling, will_continue = registered.scheduling, None
        if isinstance(value, ToolResult):
            scheduling = value.scheduling or scheduling
            will_continue = value.will_continue
            value = value.response
        return FunctionResponse(id=call.id, name=call.name, response=as_response(value),
                                scheduling=scheduling, will_continue=will_continue)


class ToolTasks:
    """The tool calls running now, one asyncio task each. The client session starts and
    cancels them as its protocol core decides (:class:`openlive.client.protocol.ClientCore`
    says which calls to run and which to cancel); each answer goes to ``respond``, and
    ``finished`` hears of every call that ended by itself (answered or failed)."""

    def __init__(self, registry: ToolRegistry, *,
                 respond: Callable[[FunctionResponse], Awaitable[None]],
                 finished: Callable[[str], None]) -> None:
        self.registry = registry
        self._respond = respond
        self._finished = finished
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, call: FunctionCall) -> None:
        assert call.id, "only calls with an id are run"
        self._tasks[call.id] = asyncio.create_task(
            self._run(call), name=f"openlive-tool {call.name} {call.id}")

    def cancel(self, call_ids: Iterable[str]) -> None:
        for call_id in call_ids:
            task = self._tasks.pop(call_id, None)
            if task is not None:
                task.cancel()

    def cancel_all(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()

    async def _run(self, call: FunctionCall) -> None:
        assert call.id is not None
        try:
            response = await self.registry.call(call)
        except asyncio.CancelledError:
            log.info("tool call %s (%s) cancelled", call.id, call.name)
            return
        finally:
            if self._tasks.get(call.id) is asyncio.current_task():
                del self._tasks[call.id]
                self._finished(call.id)
        await self._respond(response)


def as_response(value: Any) -> dict[str, Any]:
    """A function's return value as the ``response`` object of a FunctionResponse."""
    if isinstance(value, dict):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if value is None:
        return {}
    return {"result": value}
