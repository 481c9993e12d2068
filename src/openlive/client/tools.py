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
import inspect
import logging
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ..wire.content import FunctionCall, FunctionResponse, Scheduling
from ..wire.setup import FunctionDeclaration, Schema, Tool
from .tool_schema import adapter, parse_docstring, schema_for

__all__ = ["Behavior", "RegisteredTool", "ToolRegistry", "ToolResult", "ToolTasks",
           "as_response", "declaration_for", "parse_docstring", "schema_for"]

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
        fn = registered.function
        try:
            args = _typed_args(fn, call.args or {})
        except ValueError as exc:  # arguments that do not fit the declaration: say so
            log.warning("tool %s: bad arguments: %s", registered.name, exc)
            return FunctionResponse(id=call.id, name=call.name,
                                    response={"error": f"invalid arguments: {exc}"})
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


def _typed_args(function: Callable[..., Any], args: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON arguments as the function's annotated types (a pydantic model, a
    dataclass, an enum member…): each validated by pydantic. Raises ValueError (pydantic's
    ValidationError is one) when an argument does not fit."""
    try:
        hints = typing.get_type_hints(function)
    except Exception:
        return args
    typed = dict(args)
    for name, value in args.items():
        check = adapter(hints[name]) if name in hints else None
        if check is not None:
            typed[name] = check.validate_python(value)
    return typed
