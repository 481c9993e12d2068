"""Every server message stays under the Python SDK's 1 MiB frame limit."""

from openlive.session.state import LiveSession
from openlive.wire.codec import encode_server_message

LIMIT = 1 << 20


def _live_session_with_turn() -> tuple[LiveSession, int]:
    s = LiveSession()
    s.receive_frame('{"setup":{"model":"gemini-x","generationConfig":{"responseModalities":["TEXT"]}}}')
    s.receive_frame('{"realtimeInput":{"text":"go"}}')
    turn_id = s.turn.turn_id
    s.outbox.clear()
    return s, turn_id


def test_huge_emoji_reply_is_split_below_one_mebibyte() -> None:
    s, turn_id = _live_session_with_turn()
    reply = "🎉" * 300_000  # 12 bytes per character once ASCII-escaped: 3.6 MB in one part
    assert s.model_text(turn_id, reply)
    frames = [encode_server_message(m) for m in s.outbox]
    assert len(frames) > 1
    assert max(len(f) for f in frames) < LIMIT
    texts = "".join(m.server_content.model_turn.parts[0].text for m in s.outbox)
    assert texts == reply


def test_huge_ascii_reply_is_split_and_kept_whole() -> None:
    s, turn_id = _live_session_with_turn()
    reply = "x" * (3 * LIMIT)
    assert s.model_text(turn_id, reply)
    frames = [encode_server_message(m) for m in s.outbox]
    assert max(len(f) for f in frames) < LIMIT
    assert sum(len(m.server_content.model_turn.parts[0].text) for m in s.outbox) == len(reply)
