"""ClientCore without sockets: frames in, state and decisions out."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from openlive.client import LiveSessionClosed, State
from openlive.client.config import make_setup
from openlive.client.protocol import ClientCore, Decisions
from openlive.wire import ClientMessage, errors


def core(*, resumption: bool = True, handle: str | None = None,
         tools: tuple[str, ...] = ()) -> ClientCore:
    return ClientCore(make_setup("gemini-2.0-flash-exp", None, resumption=resumption,
                                 handle=handle), tools=tools)


def feed(c: ClientCore, message: dict[str, Any], at: float = 0.0) -> Decisions:
    return c.receive_frame(json.dumps(message).encode(), at)


def live(c: ClientCore) -> ClientCore:
    """Through the first connection's setup, as the edge does it."""
    c.connect()
    assert feed(c, {"setupComplete": {}}).setup_complete
    for frame in c.take_outbox():
        c.sent(frame)
    c.live()
    return c


def text(value: str) -> ClientMessage:
    return ClientMessage.model_validate({"clientContent": {
        "turns": [{"role": "user", "parts": [{"text": value}]}], "turnComplete": True}})


def send(c: ClientCore, message: ClientMessage) -> str | None:
    """The frame the edge writes now, or None when the core queued it."""
    frame = c.frame_for(message)
    if not c.write_or_queue(frame):
        return None
    c.sent(frame)
    return frame


HANDLE = {"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}}
TURN_COMPLETE = {"serverContent": {"turnComplete": True}}
GO_AWAY = {"goAway": {"timeLeft": "5s"}}


def test_setup_frame_carries_the_latest_handle() -> None:
    c = core(handle="saved")
    assert json.loads(c.connect())["setup"]["sessionResumption"] == {"handle": "saved"}
    live(c)
    feed(c, {"sessionResumptionUpdate": {"newHandle": "h2", "resumable": True}})
    feed(c, {"sessionResumptionUpdate": {"resumable": False}})  # no usable handle: ignored
    assert json.loads(c.connect())["setup"]["sessionResumption"] == {"handle": "h2"}
    assert "sessionResumption" not in json.loads(core(resumption=False).connect())["setup"]


def test_state_machine_and_setup_complete() -> None:
    c = core()
    assert c.state is State.CONNECTING
    c.connect()
    d = feed(c, {"setupComplete": {"sessionId": "s-1"}}, at=1.5)
    assert d.setup_complete and not d.switch
    assert [r.message.setup_complete is not None for r in d.deliver] == [True]
    assert d.deliver[0].at == 1.5
    assert c.session_id == "s-1"
    assert c.state is State.CONNECTING  # not live until the outbox is written
    c.live()
    assert c.state is State.LIVE
    assert c.close() is True
    assert c.state is State.CLOSED
    assert c.close() is False  # idempotent


def test_messages_before_setup_complete_are_delivered_after_it() -> None:
    c = core()
    c.connect()
    assert feed(c, {"serverContent": {"modelTurn": {"parts": [{"text": "early"}]}}}) == Decisions()
    d = feed(c, {"setupComplete": {}})
    assert [next(iter(json.loads(r.raw))) for r in d.deliver] == [
        "setupComplete", "serverContent"]


def test_a_frame_that_is_not_a_live_message_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    c = live(core())
    with caplog.at_level(logging.WARNING, "openlive.client"):
        assert c.receive_frame(b'{"serverContent": {"turnComplete": "maybe"}}', 0) == Decisions()
    assert "not a Live message" in caplog.text
    d = feed(c, TURN_COMPLETE)
    assert d.deliver[0].raw == json.dumps(TURN_COMPLETE)


def test_sends_are_queued_while_not_live_and_come_out_after_setup() -> None:
    c = core()
    c.connect()
    assert send(c, text("early")) is None
    feed(c, {"setupComplete": {}})
    assert [json.loads(f)["clientContent"]["turns"][0]["parts"][0]["text"]
            for f in c.take_outbox()] == ["early"]
    c.live()
    assert send(c, text("now")) is not None


def test_go_away_switches_at_once_when_idle() -> None:
    c = live(core())
    feed(c, HANDLE)
    d = feed(c, GO_AWAY)
    assert d.switch and c.state is State.RECONNECTING
    assert send(c, text("while reconnecting")) is None  # queued for the next connection
    assert json.loads(c.connect())["setup"]["sessionResumption"] == {"handle": "h1"}
    d = feed(c, {"setupComplete": {}})
    assert d.setup_complete and c.reconnects == 1
    assert len(c.take_outbox()) == 1


def test_go_away_waits_for_the_reply_and_for_tool_calls() -> None:
    c = live(core(tools=("lookup",)))
    feed(c, HANDLE)
    send(c, text("question"))
    assert not feed(c, GO_AWAY).switch  # a reply is awaited
    d = feed(c, {"toolCall": {"functionCalls": [{"id": "c1", "name": "lookup"}]}})
    assert [call.id for call in d.run_tools] == ["c1"] and not d.switch
    assert not feed(c, TURN_COMPLETE).switch  # the tool call still runs
    assert c.state is State.LIVE
    c.tool_finished("c1")
    assert feed(c, {"serverContent": {"turnComplete": True}}).switch


def test_go_away_without_a_handle_does_not_switch() -> None:
    c = live(core())
    assert not feed(c, GO_AWAY).switch
    assert c.state is State.LIVE
    assert feed(c, HANDLE).switch  # the goAway is remembered until a switch is possible


def test_tool_calls_run_once_and_only_for_known_names() -> None:
    c = live(core(tools=("lookup",)))
    call = {"toolCall": {"functionCalls": [{"id": "c1", "name": "lookup"},
                                           {"id": "c2", "name": "unknown"},
                                           {"name": "lookup"}]}}
    assert [x.id for x in feed(c, call).run_tools] == ["c1"]
    assert feed(c, call).run_tools == ()  # c1 already runs
    d = feed(c, {"toolCallCancellation": {"ids": ["c1", "c2"]}})
    assert d.cancel_tools == ("c1",)
    assert c.running_tools == set()
    assert [x.id for x in feed(c, call).run_tools] == ["c1"]  # the same id may come again


def test_a_drop_resumes_only_with_a_handle_and_a_retryable_code() -> None:
    c = live(core())
    assert c.closed(1011, "Internal error encountered.") is False  # no handle yet
    assert c.state is State.CLOSED
    assert isinstance(c.error, LiveSessionClosed) and c.error.code == 1011

    c = live(core())
    feed(c, HANDLE)
    assert c.closed(1006, "") is True
    assert c.state is State.RECONNECTING
    assert c.should_retry(1011) and not c.should_retry(1008)

    c = live(core())
    feed(c, HANDLE)
    assert c.closed(1008, errors.SESSION_NOT_FOUND) is False
    assert c.error is not None and c.error.code == 1008

    c = live(core())
    feed(c, HANDLE)
    assert c.closed(1000, "") is False and c.error is None  # a normal end


def test_resume_resends_only_what_the_latest_handle_does_not_cover() -> None:
    c = live(core())
    send(c, text("a"))
    feed(c, HANDLE)  # acknowledges "a"
    send(c, text("b"))
    assert c.closed(1011, "") is True
    send(c, text("c"))  # queued while reconnecting
    c.connect()
    feed(c, {"setupComplete": {}})
    out = [json.loads(f)["clientContent"]["turns"][0]["parts"][0]["text"]
           for f in c.take_outbox()]
    assert out == ["b", "c"]


def test_write_failures_queue_when_resumable_else_raise() -> None:
    c = live(core())
    frame = c.frame_for(text("x"))
    assert c.write_or_queue(frame)
    error = c.write_failed(frame, 1006, "reset")
    assert isinstance(error, LiveSessionClosed) and error.code == 1006

    c = live(core())
    feed(c, HANDLE)
    frame = c.frame_for(text("x"))
    assert c.write_failed(frame, 1006, "reset") is None
    c.requeue(["later"])
    assert list(c.pending) == [frame, "later"]


def test_sending_after_the_end_raises_its_error_and_setup_is_refused() -> None:
    c = live(core())
    with pytest.raises(ValueError):
        c.frame_for(ClientMessage.model_validate({"setup": {"model": "models/x"}}))
    c.finish(LiveSessionClosed(1011, "boom"))
    with pytest.raises(LiveSessionClosed) as info:
        c.write_or_queue(c.frame_for(text("late")))
    assert info.value.reason == "boom"
    c = live(core())
    c.close()
    with pytest.raises(LiveSessionClosed, match="closed"):
        c.write_or_queue("{}")
    assert c.closed(1011, "") is False and c.error is None  # closing: no resume, no error
