"""The realtime-media fast path (wire.codec.parse_media_frame) gives exactly what the general
parser gives, and leaves everything else (including every malformed frame) to the general
parser. The session core's side of it: tests/session/test_media.py."""

import base64
import json
import os

import pytest

from openlive.wire.codec import parse_client_frame, parse_media_frame
from openlive.wire.errors import LiveError

PCM = os.urandom(640)
STD = base64.b64encode(PCM).decode()
URLSAFE = base64.urlsafe_b64encode(PCM).decode()

VALID = [
    {"realtimeInput": {"audio": {"data": STD, "mimeType": "audio/pcm;rate=16000"}}},
    {"realtime_input": {"audio": {"data": URLSAFE, "mime_type": "audio/pcm;rate=16000"}}},
    {"realtime_input": {"audio": {"data": URLSAFE.rstrip("=")}}},
    {"realtimeInput": {"video": {"mimeType": "image/jpeg", "data": STD}}},
]

FALLBACK = [  # not the hot shape, or malformed: the general parser decides
    '{"realtimeInput": {"audio": {"data": "!!!", "mimeType": "audio/pcm"}}}',
    '{"realtimeInput": {"audio": {"data": 5}}}',
    '{"realtimeInput": {"audio": {"data": "AAAA", "mimeType": 7}}}',
    '{"realtimeInput": {"audio": {"data": "AAAA", "rate": 16000}}}',
    '{"realtimeInput": {"audio": {"data": "AAAA"}, "text": "hi"}}',
    '{"realtimeInput": {"text": "hi"}}',
    '{"realtimeInput": {"mediaChunks": [{"data": "AAAA"}]}}',
    '{"realtimeInput": {"audio": {"data": "AAAA"}}, "setup": {}}',
    '{"realtimeInput": {"audio": []}}',
    '{"realtimeInput": "audio"}',
    '{"realtimeInput": {"audio": {"data": "AAAA"}',
    '["realtimeInput"]',
    '{"clientContent": {"turns": [], "turnComplete": true}}',
    b'\xff{"realtimeInput"',
]


@pytest.mark.parametrize("obj", VALID)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_fast_path_matches_general_parser(obj: dict, as_bytes: bool) -> None:
    frame = json.dumps(obj)
    fast = parse_media_frame(frame.encode() if as_bytes else frame)
    assert fast is not None
    kind, blob = fast
    general = parse_client_frame(frame).realtime_input
    assert blob == getattr(general, kind)
    assert blob.data == PCM


@pytest.mark.parametrize("frame", FALLBACK)
def test_everything_else_falls_back(frame: str | bytes) -> None:
    assert parse_media_frame(frame) is None



@pytest.mark.parametrize("frame", [
    '{"realtimeInput":' + '{"a":' * 1000 + "1" + "}" * 1001,
    '{"realtimeInput":{"audio":' + "[" * 100_000 + "]" * 100_000 + "}}",
])
@pytest.mark.parametrize("as_bytes", [False, True])
def test_deep_nesting_falls_back_without_recursion_error(frame: str, as_bytes: bool) -> None:
    # json.loads raised RecursionError here (issue 13: 1011 and a traceback); the general
    # parser refuses the frame with 1007 (tests/unit/test_wire.py)
    assert parse_media_frame(frame.encode() if as_bytes else frame) is None


def test_a_lone_surrogate_in_the_mime_type_takes_the_general_parser() -> None:
    # json.loads keeps a lone "\ud800" escape; the general parser refuses it (as protobuf's
    # JSON parser does: "Missing low surrogate."), so the fast path must not accept it
    frame = ('{"realtimeInput": {"audio": {"data": "AAAA", '
             '"mimeType": "audio/pcm;rate=16000;x=\\ud800"}}}')
    assert parse_media_frame(frame) is None
    with pytest.raises(LiveError) as info:
        parse_client_frame(frame)
    assert info.value.code == 1007
    # a non-ASCII mime type that is valid text gives what the general parser gives
    ok = '{"realtimeInput": {"audio": {"data": "AAAA", "mimeType": "audio/pcm;rate=16000;x=é"}}}'
    fast = parse_media_frame(ok)
    assert fast is None or fast[1] == parse_client_frame(ok).realtime_input.audio
