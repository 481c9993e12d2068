"""Tools: declarations from Python functions, automatic dispatch, cancellation."""

from __future__ import annotations

import asyncio
import enum
import threading
from dataclasses import dataclass
from typing import Annotated, Literal, TypedDict

import pydantic
from client_listener import ListenerConnection

from openlive.client import ToolRegistry, ToolResult, connect, declaration_for
from openlive.wire.content import FunctionCall
from openlive.wire.setup import FunctionDeclaration


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


def get_weather(city: str, unit: Unit = Unit.C, days: int = 1,
                tags: list[str] | None = None) -> dict:
    """Current weather in a city.

    Longer description that is not the summary.

    Args:
        city: the city name,
            e.g. Paris
        unit: temperature unit
        days: how many days
    """
    return {}


async def set_lights(on: bool, level: Annotated[float, "brightness 0..1"] = 1.0) -> str:
    """Turn the lights on or off.

    :param on: whether the lights should be on
    """
    return "ok"


@dataclass
class Place:
    name: str
    lat: float = 0.0


def visit(place: Place, mode: Literal["walk", "drive"]) -> None:
    pass


def test_declaration_from_signature_and_docstring() -> None:
    decl = declaration_for(get_weather)
    assert decl.model_dump(mode="json", exclude_none=True, by_alias=True) == {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "OBJECT",
            "properties": {
                "city": {"type": "STRING", "description": "the city name, e.g. Paris"},
                "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"],
                         "description": "temperature unit"},
                "days": {"type": "INTEGER", "description": "how many days", "default": 1},
                "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "nullable": True},
            },
            "required": ["city"],
        },
    }
    # what goes on the wire is valid for the server's strict schema check
    FunctionDeclaration.model_validate(decl.to_json_dict(), context={"strict": True})


def test_declaration_sphinx_annotated_dataclass_literal() -> None:
    lights = declaration_for(set_lights, behavior="NON_BLOCKING").to_json_dict()
    assert lights["behavior"] == "NON_BLOCKING"
    assert lights["description"] == "Turn the lights on or off."
    assert lights["parameters"]["properties"]["on"] == {
        "type": "BOOLEAN", "description": "whether the lights should be on"}
    assert lights["parameters"]["properties"]["level"]["description"] == "brightness 0..1"
    assert lights["parameters"]["required"] == ["on"]
    v = declaration_for(visit).to_json_dict()
    assert v["parameters"]["properties"]["place"] == {
        "type": "OBJECT", "properties": {"name": {"type": "STRING"}, "lat": {"type": "NUMBER"}},
        "required": ["name"]}
    assert v["parameters"]["properties"]["mode"] == {"type": "STRING", "enum": ["walk", "drive"]}
    assert "description" not in v


async def test_tool_calls_are_answered_automatically(serve) -> None:
    calls: list[tuple[str, str]] = []

    def lookup(city: str) -> dict:  # sync: runs in a worker thread
        """Weather lookup."""
        calls.append(("lookup", threading.current_thread().name))
        return {"summary": f"sunny in {city}"}

    async def count(word: str) -> int:
        """Count letters."""
        calls.append(("count", "loop"))
        return len(word)

    script = [
        {"match": "weather in (?P<city>\\w+)",
         "call": {"name": "lookup", "args": {"city": "{city}"}},
         "say": "Result: {result[summary]}"},
        {"match": "count (?P<w>\\w+)", "call": {"name": "count", "args": {"word": "{w}"}},
         "say": "{result[result]} letters"},
    ]
    async with asyncio.timeout(10):
        server = await serve(script=script)
        async with connect("gemini-2.0-flash-exp", base_url=server.http_url, modality="TEXT",
                           tools=[lookup, count]) as session:
            assert [d.name for d in session.setup.tools[0].function_declarations] == [
                "lookup", "count"]
            for prompt, expected in (("weather in Rome", "Result: sunny in Rome"),
                                     ("count banana", "6 letters")):
                await session.send_text(prompt)
                text, saw_call = "", False
                async for m in session:
                    saw_call |= m.tool_call is not None  # the app still sees the call
                    if m.server_content and m.server_content.model_turn:
                        text += m.server_content.model_turn.text()
                    if m.server_content and m.server_content.turn_complete:
                        break
                assert saw_call and text == expected
    assert calls[0][0] == "lookup" and calls[0][1] != threading.main_thread().name
    assert calls[1] == ("count", "loop")


async def test_tool_errors_are_reported_to_the_model(serve) -> None:
    def broken() -> dict:
        """Always fails."""
        raise RuntimeError("disk on fire")

    script = [{"call": {"name": "broken"}, "say": "got {result[error]}"}]
    async with asyncio.timeout(10):
        server = await serve(script=script)
        async with connect("gemini-2.0-flash-exp", base_url=server.http_url, modality="TEXT",
                           tools=[broken]) as session:
            await session.send_text("go")
            text = ""
            async for m in session:
                if m.server_content and m.server_content.model_turn:
                    text += m.server_content.model_turn.text()
                if m.server_content and m.server_content.turn_complete:
                    break
            assert text == "got RuntimeError: disk on fire"


async def test_tool_call_cancellation_cancels_the_running_call(serve) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def slow_search(query: str) -> dict:
        """A slow search."""
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {}

    script = [{"match": "search", "call": {"name": "slow_search", "args": {"query": "x"}},
               "say": "found"}, {"say": "You said: {text}"}]
    async with asyncio.timeout(10):
        server = await serve(script=script)
        async with connect("gemini-2.0-flash-exp", base_url=server.http_url, modality="TEXT",
                           tools=[slow_search]) as session:
            await session.send_text("search please")
            await started.wait()
            await session.send_text("never mind")  # interrupts: server cancels the call
            seen = []
            async for m in session:
                seen.append(m)
                if m.server_content and m.server_content.model_turn:
                    break
            await asyncio.wait_for(cancelled.wait(), 5)
            assert any(m.tool_call_cancellation and m.tool_call_cancellation.ids == ["call-1"]
                       for m in seen)


async def test_scheduling_and_will_continue_reach_the_wire(listen) -> None:
    async def handler(conn: ListenerConnection) -> None:
        await conn.setup_complete()
        await conn.send({"toolCall": {"functionCalls": [
            {"id": "c1", "name": "notify", "args": {"text": "hi"}}]}})

    registry = ToolRegistry()

    @registry.register(behavior="NON_BLOCKING", scheduling="WHEN_IDLE")
    async def notify(text: str) -> ToolResult:
        """Notify."""
        return ToolResult({"sent": text}, will_continue=True)

    async with asyncio.timeout(10):
        listener = await listen(handler)
        async with connect("gemini-2.0-flash-exp", base_url=listener.http_url,
                           tools=registry) as session:
            await session.respond("c2", {"done": True}, name="other", scheduling="SILENT",
                                  will_continue=False)
            conn = listener.connections[0]
            frames = [await conn.recv(), await conn.recv()]
    by_id = {f["toolResponse"]["functionResponses"][0]["id"]: f for f in frames}
    assert by_id["c1"] == {"toolResponse": {"functionResponses": [
        {"id": "c1", "name": "notify", "response": {"sent": "hi"}, "willContinue": True,
         "scheduling": "WHEN_IDLE"}]}}
    assert by_id["c2"] == {"toolResponse": {"functionResponses": [
        {"id": "c2", "name": "other", "response": {"done": True}, "willContinue": False,
         "scheduling": "SILENT"}]}}
    setup = conn.frames[0].data["setup"]
    assert setup["tools"][0]["functionDeclarations"][0]["behavior"] == "NON_BLOCKING"


# ------------------------------------------ typed parameters (pydantic TypeAdapter)

class Address(pydantic.BaseModel):
    street: str
    zip_code: str | None = None


class Order(pydantic.BaseModel):
    """An order."""

    item: str = pydantic.Field(description="what to buy")
    quantity: int = 1
    ship_to: Address | None = None
    tags: list[Literal["gift", "fragile"]] = []


class Point(TypedDict):
    x: float
    y: float


def place_order(order: Order, where: Point, note: str | None = None) -> dict:
    """Place an order.

    Args:
        order: the order
        where: map position
    """
    return {"item": order.item, "quantity": order.quantity,
            "street": order.ship_to.street if order.ship_to else None, "x": where["x"]}


def test_pydantic_models_and_typed_dicts_keep_their_fields() -> None:
    """A pydantic model used to become {"type": "OBJECT"} with no fields, a TypedDict a
    STRING."""
    params = declaration_for(place_order).to_json_dict()["parameters"]
    order = params["properties"]["order"]
    assert order["type"] == "OBJECT" and order["required"] == ["item"]
    assert order["properties"]["item"] == {"type": "STRING", "description": "what to buy"}
    assert order["properties"]["quantity"] == {"type": "INTEGER"}
    ship = order["properties"]["ship_to"]
    assert ship["nullable"] is True and ship["properties"]["street"] == {"type": "STRING"}
    assert ship["properties"]["zip_code"] == {"type": "STRING", "nullable": True}
    assert order["properties"]["tags"] == {"type": "ARRAY", "items": {
        "type": "STRING", "enum": ["gift", "fragile"]}}
    assert params["properties"]["where"] == {
        "type": "OBJECT", "properties": {"x": {"type": "NUMBER"}, "y": {"type": "NUMBER"}},
        "required": ["x", "y"], "description": "map position"}
    assert params["required"] == ["order", "where"]
    # valid for the server's strict schema check (no title, no additionalProperties)
    FunctionDeclaration.model_validate(declaration_for(place_order).to_json_dict(),
                                       context={"strict": True})


async def test_arguments_arrive_as_the_annotated_types_and_bad_ones_are_told() -> None:
    registry = ToolRegistry([place_order])
    ok = await registry.call(FunctionCall(id="1", name="place_order", args={
        "order": {"item": "tea", "ship_to": {"street": "Main St"}}, "where": {"x": 1, "y": 2}}))
    assert ok.response == {"item": "tea", "quantity": 1, "street": "Main St", "x": 1.0}
    bad = await registry.call(FunctionCall(id="2", name="place_order", args={
        "order": {"quantity": "many"}, "where": {"x": 1, "y": 2}}))
    assert bad.response["error"].startswith("invalid arguments:")
    assert "item" in bad.response["error"] and "quantity" in bad.response["error"]


def test_numpy_style_docstrings_are_read_too() -> None:
    def lookup(term: str) -> str:
        """Look a term up.

        Parameters
        ----------
        term : str
            the word to find
        """
        return term

    decl = declaration_for(lookup).to_json_dict()
    assert decl["description"] == "Look a term up."
    assert decl["parameters"]["properties"]["term"]["description"] == "the word to find"
