"""The realtime-media fast path (wire.codec.parse_media_frame) gives exactly what the general
parser gives, and leaves everything else (including every malformed frame) to the general
parser. The session core's side of it: tests/session/test_media.py."""

import base64
import json
import os

import pytest

from openlive.wire.codec import parse_client_frame, parse_media_frame

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

