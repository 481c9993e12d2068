"""Function calling in the local engine (docs/local-engine.md), from the setup's
``functionDeclarations``: a grammar-constrained choice between calling a declared function
and answering, the call sent as a toolCall, and the turn going on after the toolResponse.

Arguments are validated against the declaration's JSON schema (one constrained retry, else
the model answers in text: invalid arguments are never sent); call -> response -> another
call loops up to :data:`MAX_TOOL_ROUNDS` times per turn, never repeating an identical call.
A ``NON_BLOCKING`` function's toolCall does not hold the turn: the model says it has started
it and ends its turn; the session core turns each later toolResponse (``scheduling``
SILENT / WHEN_IDLE / INTERRUPT, ``willContinue``) into history, or a new model turn that
speaks about the result.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ...wire.content import Content, FunctionCall
from ...wire.setup import FunctionDeclaration, Schema, Setup
from ..base import Turn

log = logging.getLogger("openlive.local")

MAX_TOOL_ROUNDS = 3  # function calls the model may make in one turn, one after another


def schema_to_json(schema: Schema | None) -> dict[str, Any]:
    """The Live API's OpenAPI subset -> a JSON schema (lower-case types)."""
    if schema is None:
        return {"type": "object", "properties": {}}
    out: dict[str, Any] = {}
    if schema.type and schema.type != "TYPE_UNSPECIFIED":
        out["type"] = schema.type.lower()
    if schema.description:
        out["description"] = schema.description
    if schema.enum:
        out["enum"] = list(schema.enum)
    if schema.properties is not None:
        out["properties"] = {k: schema_to_json(v) for k, v in schema.properties.items()}
    if schema.required:
        out["required"] = list(schema.required)
    if schema.items is not None:
        out["items"] = schema_to_json(schema.items)
    if schema.any_of:
        out["anyOf"] = [schema_to_json(s) for s in schema.any_of]
    for key in ("minimum", "maximum", "min_items", "max_items", "min_length", "max_length"):
        value = getattr(schema, key)
        if value is not None:
            camel = key.split("_")[0] + "".join(w.title() for w in key.split("_")[1:])
            out[camel] = value
    if out.get("type") == "object" and "properties" not in out:
        out["properties"] = {}
    return out


def tool_spec(decl: FunctionDeclaration) -> dict[str, Any]:
    params = (decl.parameters_json_schema if decl.parameters_json_schema is not None
              else schema_to_json(decl.parameters))
    return {"name": decl.name or "", "description": decl.description or "",
            "parameters": params}


def invalid_arguments(args: Any, schema: dict[str, Any]) -> str | None:
    """Why ``args`` do not match the declaration's JSON ``schema`` (None: they do)."""
    import jsonschema

    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        validator.check_schema(schema)
    except jsonschema.SchemaError as exc:  # the client's schema: use it as far as it goes
        log.debug("cannot validate against the declared schema: %s", exc.message)
        return None if isinstance(args, dict) else "the arguments are not an object"
    error = jsonschema.exceptions.best_match(validator.iter_errors(args))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


async def choose_call(llm: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                      usage: Any) -> Any:
    """The model's tool choice with arguments valid against the declaration; one retry
    (telling the model what was wrong), then no call (the model answers in text)."""
    from ..audio.llm import ToolChoice

    by_name = {t["name"]: t for t in tools}
    attempt = messages
    for _ in range(2):
        choice = await llm.achoose_tool(attempt, tools, usage=usage)
        if choice.name is None:
            return choice
        tool = by_name.get(choice.name)
        problem = (f"there is no function {choice.name!r}" if tool is None
                   else invalid_arguments(choice.arguments, tool["parameters"]))
        if problem is None:
            return choice
        log.info("model's call %s(%s) is invalid: %s", choice.name, choice.arguments, problem)
        attempt = [*messages,
                   {"role": "assistant", "content": json.dumps(
                       {"tool": choice.name, "arguments": choice.arguments})},
                   {"role": "user", "content": f"That call is invalid ({problem}). Call the "
                                               "function with valid arguments, or choose none."}]
    return ToolChoice(None)


def _calls_since_user(history: list[Content]) -> set[str]:
    """Calls already made (name + arguments) since the user last said something."""
    seen: set[str] = set()
    for content in reversed(history):
        parts = content.parts or ()
        if content.role != "model" and any(p.text for p in parts):
            break
        for p in parts:
            if p.function_call is not None:
                seen.add(_call_key(p.function_call.name or "", p.function_call.args or {}))
    return seen


def _call_key(name: str, args: dict[str, Any]) -> str:
    return name + json.dumps(args, sort_keys=True)


async def use_tools(turn: Turn, llm: Any, messages: list[dict[str, Any]], setup: Setup,
                    history: list[Content], usage: Any) -> None:
    """Let the model call the setup's functions before it answers (up to
    :data:`MAX_TOOL_ROUNDS` calls, none repeated since the user last spoke); each call and
    its results are appended to ``messages``."""
    decls = {d.name: d for d in setup.function_declarations() if d.name}
    tools = [tool_spec(d) for d in decls.values()]
    seen = _calls_since_user(history)
    for _ in range(MAX_TOOL_ROUNDS if tools else 0):
        choice = await choose_call(llm, messages, tools, usage)
        key = _call_key(choice.name or "", choice.arguments)
        if choice.name is None or key in seen:
            break
        seen.add(key)
        log.info("turn %d: calling %s(%s)", turn.turn_id, choice.name, choice.arguments)
        call = FunctionCall(name=choice.name, args=choice.arguments)
        responses = await turn.call_tools([call])
        messages.append({"role": "assistant", "content":
                         f"(called {call.name} with {json.dumps(call.args)})"})
        if decls[choice.name].behavior == "NON_BLOCKING":
            # the result comes later (toolResponse scheduling): say it has started
            messages.append({"role": "user", "content":
                             f"({call.name} is running; its result comes later.) Tell "
                             "the user in one short sentence that you have started it."})
            break
        messages.append({"role": "user", "content": "\n".join(
            f"(result of {r.name}: {json.dumps(r.response or {})})"
            for r in responses) + "\nAnswer the user's question with this result."})
