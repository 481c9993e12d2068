"""serve --record: one JSONL per session (audio included; WAV on demand), flushed as it runs,
no secrets; recordings CLI."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import wave

import numpy as np
import pytest
import websockets

from openlive.cli import main
from openlive.recording import Recorder, read_recording
from openlive.testing import start_live_server

# openlive's own model, where TEXT replies stay allowed: these tests are about mechanics,
# not Google fidelity (gemini Live models answer in AUDIO only)
MODEL = "models/openlive-emulator"

SETUP = {"setup": {"model": MODEL,
                   "generationConfig": {"responseModalities": ["TEXT"]}}}


def pcm(seconds: float, rate: int) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


async def test_a_session_is_recorded_as_it_runs_without_secrets(tmp_path):
    server = start_live_server(observer=Recorder(tmp_path), api_keys=["s3cret-key"])
    try:
        async with asyncio.timeout(10):
            url = server.live_url + "?key=s3cret-key"
            async with websockets.connect(url, ssl=server.ssl_context) as ws:
                await ws.send(json.dumps(SETUP))
                await ws.recv()
                audio = base64.b64encode(pcm(0.1, 16000)).decode()
                await ws.send(json.dumps({"realtimeInput": {"audio": {
                    "mimeType": "audio/pcm;rate=16000", "data": audio}}}))
                await ws.send(json.dumps({"clientContent": {"turns": [
                    {"role": "user", "parts": [{"text": "hello"}]}], "turnComplete": True}}))
                while not json.loads(await ws.recv()).get("serverContent", {}).get(
                        "turnComplete"):
                    pass
                # flushed as it goes: everything so far is on disk while the session is open
                [path] = tmp_path.glob("*.jsonl")
                live = read_recording(path)
                assert [r["direction"] for r in live][:4] == ["open", "client", "server",
                                                              "client"]
                assert live[-1]["message"]["serverContent"]["turnComplete"] is True
            await server.await_closed()
    finally:
        server.stop()
    records = read_recording(path)
    assert records[0]["direction"] == "open" and records[0]["auth"] == "api_key"
    assert records[-1] == {"t": records[-1]["t"], "direction": "close", "code": 1000}
    times = [r["t"] for r in records]
    assert times == sorted(times) and times[0] == 0.0
    assert records[1]["message"] == SETUP
    assert any(r.get("message", {}).get("serverContent", {}).get("modelTurn") for r in records)
    for file in tmp_path.iterdir():
        assert b"s3cret" not in file.read_bytes(), file
    # audio is stored once, in the JSONL; `openlive recordings audio` writes it as WAV
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".jsonl"]
    assert main(["recordings", "audio", str(path), "--out", str(tmp_path / "wav")]) == 0
    with wave.open(str(tmp_path / "wav" / f"{path.stem}.client.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        assert w.readframes(w.getnframes()) == pcm(0.1, 16000)


def test_server_audio_and_odd_frames_through_the_observer(tmp_path):
    recorder = Recorder(tmp_path, wav=True)  # WAV files too, written as the session runs
    recorder("[session 7]", "open", {"api_version": "v1beta", "auth": "token"})
    speech = pcm(0.2, 24000)
    message = {"serverContent": {"modelTurn": {"parts": [{"inlineData": {
        "mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(speech).decode()}}]}}}
    recorder("[session 7]", "server", json.dumps(message).encode())
    recorder("[session 7]", "client", b"{not json")
    recorder("[session 7]", "client", json.dumps({"realtime_input": {"media_chunks": [
        {"mime_type": "audio/pcm;rate=8000", "data": base64.b64encode(pcm(0.1, 8000)).decode()}
    ]}}))
    [path] = tmp_path.glob("*-s7.jsonl")
    # before the close the WAV header already describes every frame written
    with wave.open(str(tmp_path / f"{path.stem}.server.wav")) as w:
        assert w.getframerate() == 24000 and w.readframes(w.getnframes()) == speech
    recorder("[session 7]", "close", {"code": 1011})
    records = read_recording(path)
    assert records[2]["invalid"] == "{not json"
    with wave.open(str(tmp_path / f"{path.stem}.client.wav")) as w:
        assert w.getframerate() == 8000 and w.getnframes() == 800


def test_a_line_cut_by_a_crash_is_left_out(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"t":0.0,"direction":"open"}\n{"t":0.1,"direc')
    assert read_recording(path) == [{"t": 0.0, "direction": "open"}]


def test_recordings_list_and_show(tmp_path, capsys):
    recorder = Recorder(tmp_path)
    recorder("[session 1]", "open", {"api_version": "v1beta", "auth": "none"})
    recorder("[session 1]", "client", json.dumps(SETUP))
    recorder("[session 1]", "server", b'{"setupComplete":{}}')
    recorder("[session 1]", "client", json.dumps({"clientContent": {"turns": [
        {"role": "user", "parts": [{"text": "weather?"}]}], "turnComplete": True}}))
    recorder("[session 1]", "server", json.dumps({"toolCall": {"functionCalls": [
        {"id": "c1", "name": "get_weather", "args": {"city": "Paris"}}]}}).encode())
    recorder("[session 1]", "client", json.dumps({"toolResponse": {"functionResponses": [
        {"id": "c1", "name": "get_weather", "response": {"summary": "sunny"}}]}}))
    recorder("[session 1]", "server", json.dumps({"serverContent": {
        "modelTurn": {"parts": [{"text": "It is sunny."}]}, "turnComplete": True}}).encode())
    recorder("[session 1]", "close", {"code": 1000})
    assert main(["recordings", "list", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert MODEL in out and "1000" in out
    [path] = tmp_path.glob("*.jsonl")
    assert main(["recordings", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"app  -> setup model={MODEL}" in out
    assert 'app  -> clientContent "weather?" (turnComplete)' in out
    assert 'toolCall get_weather({"city": "Paris"}) id=c1' in out
    assert 'toolResponse get_weather={"summary": "sunny"}' in out
    assert '<- model serverContent "It is sunny." turnComplete' in out
    assert "closed with code 1000" in out
    assert main(["recordings", "list", str(tmp_path / "missing")]) == 2  # a user error


def test_resumption_handles_are_written_as_digests_and_the_close_reason_is_kept(tmp_path,
                                                                               capsys):
    from openlive.recording.recorder import handle_digest

    recorder = Recorder(tmp_path)
    recorder("[session 3]", "open", {"api_version": "v1beta", "auth": "api_key"})
    recorder("[session 3]", "client", json.dumps({"setup": {
        "model": "m", "session_resumption": {"handle": "old-secret-handle"}}}))
    recorder("[session 3]", "server", json.dumps({"sessionResumptionUpdate": {
        "newHandle": "new-secret-handle", "resumable": True}}).encode())
    recorder("[session 3]", "close", {"code": 1008, "reason": "replay: expected X; got Y"})
    [path] = tmp_path.glob("*.jsonl")
    assert b"secret-handle" not in path.read_bytes()
    records = read_recording(path)
    assert records[1]["message"]["setup"]["session_resumption"]["handle"] == handle_digest(
        "old-secret-handle")
    new = records[2]["message"]["sessionResumptionUpdate"]["newHandle"]
    assert new == handle_digest("new-secret-handle") and len(new) == len("sha256:") + 12
    assert records[-1] == {"t": records[-1]["t"], "direction": "close", "code": 1008,
                           "reason": "replay: expected X; got Y"}
    assert main(["recordings", "show", str(path)]) == 0
    assert "closed with code 1008: replay: expected X; got Y" in capsys.readouterr().out


async def test_a_session_the_server_closes_is_recorded_with_its_reason(tmp_path):
    server = start_live_server(observer=Recorder(tmp_path))
    try:
        async with asyncio.timeout(10):
            async with websockets.connect(server.live_url, ssl=server.ssl_context) as ws:
                await ws.send(json.dumps({"setup": {"model": "models/no-such-model"}}))
                with contextlib.suppress(websockets.ConnectionClosed):
                    await ws.recv()
            code, reason = ws.close_code, ws.close_reason
            await server.await_closed()
    finally:
        server.stop()
    assert code == 1008 and "no-such-model" in reason
    [path] = tmp_path.glob("*.jsonl")
    last = read_recording(path)[-1]
    assert (last["direction"], last["code"], last["reason"]) == ("close", 1008, reason)


def test_lone_surrogates_are_recorded_escaped_and_nothing_is_lost(tmp_path, caplog):
    """A "\\ud800" JSON escape decodes to a lone surrogate, which UTF-8 cannot hold: the
    line was refused by the file's encoder, the recorder logged an error and the message was
    missing from the recording (issue 13). Such a line is now written ASCII-escaped."""
    recorder = Recorder(tmp_path)
    recorder("[session 4]", "open", {"api_version": "v1beta", "auth": "none"})
    turn = r'{"clientContent":{"turns":[{"role":"user","parts":[{"text":"a\ud800b"}]}]}}'
    recorder("[session 4]", "client", turn)
    recorder("[session 4]", "client", turn.encode())
    recorder("[session 4]", "server", b'{"serverContent":{"modelTurn":{"parts":'
                                      b'[{"text":"\\udfff h\xc3\xa9"}]}}}')
    recorder("[session 4]", "client", r'{"setup":{"model":"m","sessionResumption":'
                                      r'{"handle":"h\ud800"}}}')
    recorder("[session 4]", "client", r'{"realtimeInput":{"audio":{"data":"AAAA",'
                                      r'"mimeType":"audio/pcm;rate=16000;x=\ud800"}}}')
    recorder("[session 4]", "close", {"code": 1007, "reason": "bad \ud800"})
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    [path] = tmp_path.glob("*.jsonl")
    raw = path.read_bytes()
    raw.decode("utf-8")  # strict: the file stays valid UTF-8
    records = read_recording(path)
    assert [r["direction"] for r in records] == ["open", "client", "client", "server",
                                                 "client", "client", "close"]
    for r in records[1:3]:
        assert r["message"]["clientContent"]["turns"][0]["parts"][0]["text"] == "a\ud800b"
    assert records[3]["message"]["serverContent"]["modelTurn"]["parts"][0]["text"] == (
        "\udfff hé")
    from openlive.recording.recorder import handle_digest
    assert records[4]["message"]["setup"]["sessionResumption"]["handle"] == handle_digest(
        "h\ud800")
    assert records[5]["message"]["realtimeInput"]["audio"]["mimeType"].endswith("\ud800")
    assert records[6]["reason"] == "bad \ud800"
    # lines without a surrogate keep their characters unescaped
    recorder("[session 5]", "open", {})
    recorder("[session 5]", "client", '{"realtimeInput":{"text":"héllo"}}')
    [path5] = tmp_path.glob("*-s5.jsonl")
    assert "héllo".encode() in path5.read_bytes()


def test_a_frame_nested_too_deep_for_json_is_kept_as_text(tmp_path, caplog):
    # json.loads raised RecursionError: the frame was missing and a traceback logged
    recorder = Recorder(tmp_path)
    recorder("[session 6]", "open", {})
    deep = '{"realtimeInput":' + '{"a":' * 5000 + "1" + "}" * 5001
    recorder("[session 6]", "client", deep)
    recorder("[session 6]", "client", deep.encode())
    recorder("[session 6]", "close", {"code": 1007})
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    [path] = tmp_path.glob("*.jsonl")
    records = read_recording(path)
    assert [r.get("invalid") for r in records[1:3]] == [deep, deep]
    assert records[-1]["code"] == 1007


async def test_a_refused_frame_with_a_lone_surrogate_is_in_the_recording(tmp_path):
    server = start_live_server(observer=Recorder(tmp_path))
    frame = r'{"clientContent":{"turns":[{"role":"user","parts":[{"text":"\ud800"}]}]}}'
    try:
        async with asyncio.timeout(10):
            async with websockets.connect(server.live_url, ssl=server.ssl_context) as ws:
                await ws.send(json.dumps({"setup": {"model": MODEL}}))
                await ws.recv()
                await ws.send(frame)
                with contextlib.suppress(websockets.ConnectionClosed):
                    await ws.recv()
            await server.await_closed()
    finally:
        server.stop()
    assert ws.close_code == 1007
    [path] = tmp_path.glob("*.jsonl")
    records = read_recording(path)
    assert records[-2]["message"]["clientContent"]["turns"][0]["parts"][0]["text"] == "\ud800"
    assert records[-1]["code"] == 1007


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_recordings_are_private_whatever_the_umask(tmp_path, umask):
    """Recordings hold the conversations: they were created world-readable (issue 13). The
    folder the recorder creates is 0700, every file in it 0600."""
    import os
    import stat

    directory = tmp_path / "rec" / "sessions"
    old = os.umask(umask)
    try:
        recorder = Recorder(directory, wav=True)
        recorder("[session 8]", "open", {})
        recorder("[session 8]", "client", json.dumps({"realtimeInput": {"audio": {
            "mimeType": "audio/pcm;rate=16000",
            "data": base64.b64encode(pcm(0.05, 16000)).decode()}}}))
        recorder("[session 8]", "client", json.dumps({"realtimeInput": {"audio": {
            "mimeType": "audio/pcm;rate=8000",
            "data": base64.b64encode(pcm(0.05, 8000)).decode()}}}))
        recorder("[session 8]", "server", json.dumps({"serverContent": {"modelTurn": {
            "parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000",
                                      "data": base64.b64encode(pcm(0.05, 24000)).decode()}}]}}}))
        recorder("[session 8]", "close", {"code": 1000})
    finally:
        os.umask(old)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = sorted(p.name.split(".", 2)[-1] for p in directory.iterdir())
    assert files == ["client.8000.wav", "client.wav", "jsonl", "server.wav"]
    for p in directory.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    with wave.open(str(next(directory.glob("*.client.wav")))) as w:
        assert w.readframes(w.getnframes()) == pcm(0.05, 16000)
