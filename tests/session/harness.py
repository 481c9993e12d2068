"""The one driver of the session core in tests: client frames in; server messages (as JSON
dicts), engine events and the core's store requests out. No sockets, no clocks."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from openlive.session import (
    GEMINI_LIVE_MODELS,
    ClaimSession,
    LoadSession,
    Phase,
    SessionCore,
    SpendToken,
)
from openlive.session import events as ev
from openlive.session.state import Need
from openlive.wire.errors import LiveError

#: The model every core test sets up (canonical name, as SetupDone reports it).
MODEL = "models/" + GEMINI_LIVE_MODELS[0]
#: Another served model (a resumed session may not change to it).
OTHER_MODEL = "models/" + next(m for m in GEMINI_LIVE_MODELS if m != GEMINI_LIVE_MODELS[0])


# ------------------------------------------------------------- client messages

def frame(obj: dict | str | bytes) -> str | bytes:
    """A client data frame: a dict as JSON text, a str or bytes as it is."""
    return json.dumps(obj) if isinstance(obj, dict) else obj


def setup_message(model: str = MODEL, **fields: Any) -> dict:
    return {"setup": {"model": model, **fields}}


def user_text(text: str, turn_complete: bool | None = True) -> dict:
    body: dict = {"turns": [{"role": "user", "parts": [{"text": text}]}]}
    if turn_complete is not None:
        body["turnComplete"] = turn_complete
    return {"clientContent": body}


def realtime_text(text: str) -> dict:
    return {"realtimeInput": {"text": text}}


def audio(mime: str | None, data: str = "AAAA") -> dict:
    blob = {"data": data} if mime is None else {"mimeType": mime, "data": data}
    return {"realtimeInput": {"audio": blob}}


def video(data: str = "AAAA") -> dict:
    return {"realtimeInput": {"video": {"mimeType": "image/jpeg", "data": data}}}


def tool_response(call_id: str | None, name: str = "f", response: dict | None = None,
                  **fields: Any) -> dict:
    fr: dict = {"name": name, "response": response if response is not None else {"output": 1},
                **fields}
    if call_id is not None:
        fr["id"] = call_id
    return {"toolResponse": {"functionResponses": [fr]}}


def handles(messages: list[dict]) -> list[str]:
    """The new resumption handles among sent messages, in order."""
    return [m["sessionResumptionUpdate"]["newHandle"] for m in messages
            if m.get("sessionResumptionUpdate", {}).get("resumable")]


# ---------------------------------------------------------------------- driver

class Driver:
    """A :class:`SessionCore` (``core``) and the edge's side of its verbs.

    ``Driver(**core_kwargs)`` builds the core (handles are ``h1``, ``h2``… unless
    ``new_handle`` is given); :meth:`live` takes it past setup with empty queues."""

    def __init__(self, **core_kwargs: Any) -> None:
        counter = itertools.count(1)
        core_kwargs.setdefault("new_handle", lambda: f"h{next(counter)}")
        self.core = SessionCore(**core_kwargs)
        self.fetches: list[Need] = []  # what admit() was asked to fetch, in order
        self.claims: list[ClaimSession] = []  # the leases admit() was asked to claim
        self.reloads: list[Need] = []  # what it fetched again once a lease was claimed

    # -- frames in, output out

    def feed(self, obj: dict | str | bytes) -> None:
        """One client frame (a dict is sent as JSON text)."""
        self.core.receive_frame(frame(obj))

    def drain(self) -> list[dict]:
        """The messages the core sends now, as JSON dicts (each once)."""
        return [m.to_json_dict() for m in self.core.messages_to_send()]

    def events(self) -> list[ev.Event]:
        """The events the core hands the engine now (each once)."""
        return self.core.events_received()

    def assert_sent(self, *expected: dict) -> None:
        assert self.drain() == list(expected)

    def refused(self, obj: dict | str | bytes) -> LiveError:
        """Feed a frame the core must refuse: its LiveError; the session is CLOSED."""
        with pytest.raises(LiveError) as info:
            self.feed(obj)
        assert self.core.phase is Phase.CLOSED
        return info.value

    # -- setup and admission

    def setup(self, model: str = MODEL, **fields: Any) -> Driver:
        """Feed the setup (the core may then be ADMITTING: see :meth:`admit`)."""
        self.feed(setup_message(model, **fields))
        return self

    def live(self, model: str = MODEL, **fields: Any) -> Driver:
        """Feed the setup; the session must be LIVE at once. Queues drained."""
        self.setup(model, **fields)
        assert self.core.phase is Phase.LIVE
        self.drain()
        self.events()
        return self

    def admit(self, store: dict[str, Any], spent: bool = True, now: float = 0.0,
              leases: dict[str, str] | None = None) -> Driver:
        """Answer every :meth:`SessionCore.needs` as a store holding ``store`` (handle ->
        record) would, whose token spend returns ``spent`` and whose live leases are
        ``leases`` (key -> holder; a claim adds one)."""
        leases = {} if leases is None else leases
        while (need := self.core.needs()) is not None:
            if isinstance(need, ClaimSession):
                self.claims.append(need)
            else:
                (self.reloads if self.claims else self.fetches).append(need)
            if isinstance(need, SpendToken):
                self.core.fetched(spent, now)
            elif isinstance(need, ClaimSession):
                free = leases.setdefault(need.key, need.holder) == need.holder
                self.core.fetched(free, now)
            else:
                assert isinstance(need, LoadSession)
                self.core.fetched(store.get(need.handle), now)
        return self

    # -- turns

    def say(self, text: str) -> None:
        """A complete user turn as clientContent."""
        self.feed(user_text(text))

    def start_turn(self, text: str = "hello") -> int:
        """A user turn (realtime text): the model turn's id. Events drained."""
        self.feed(realtime_text(text))
        (ready,) = [e for e in self.events() if isinstance(e, ev.TurnReady)]
        return ready.turn_id


def live(**setup_fields: Any) -> Driver:
    """A default core past setup, queues empty."""
    return Driver().live(**setup_fields)
