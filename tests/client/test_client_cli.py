"""`openlive chat | talk | mic` run as real subprocesses (stdin piped) against a real server
or a scripted listener on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import wave
from pathlib import Path

import numpy as np
from client_listener import ListenerConnection
from test_client_audio import make_wav

from openlive.wire import errors

OPENLIVE = str(Path(sys.executable).with_name("openlive"))


async def run_cli(*args: str, stdin: str = "", timeout: float = 20) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OPENLIVE_") and k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    proc = await asyncio.create_subprocess_exec(
        OPENLIVE, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env)
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate(stdin.encode())
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_chat_reads_stdin_and_waits_for_each_reply(serve) -> None:
    script = [{"match": "slow", "say": "a slow answer", "delay": 0.3, "chunk_chars": 2,
               "chunk_delay": 0.01}, {"say": "You said: {text}"}]
    async with asyncio.timeout(30):
        server = await serve(script=script, api_keys=["k"])
        rc, out, err = await run_cli("chat", "--url", server.http_url, "--api-key", "k",
                                     "--model", "gemini-2.0-flash-exp",
                                     stdin="hello\n\nslow please\n")
    assert rc == 0, err
    assert out == "You said: hello\na slow answer\n"
    assert "openlive: connected to ws://127.0.0.1:" in err
    assert "key=" not in err or "key=***" in err


async def test_chat_json_prints_raw_server_messages(serve) -> None:
    async with asyncio.timeout(30):
        server = await serve()
        rc, out, err = await run_cli("chat", "--url", server.http_url, "--json", "-q",
                                     stdin="hi\n")
    assert rc == 0, err
    every = [json.loads(line) for line in out.splitlines()]
    # the client asks for sessionResumption, so the server's handle updates are printed too
    assert any(m.get("sessionResumptionUpdate", {}).get("resumable") for m in every)
    lines = [m for m in every if "sessionResumptionUpdate" not in m]
    assert lines[0] == {"setupComplete": {}}
    # gemini-3.8-live answers in AUDIO, the transcript in the same event (several parts)
    first = lines[1]["serverContent"]
    assert first["outputTranscription"] == {"text": "You said: hi"}
    assert {p["inlineData"]["mimeType"] for p in first["modelTurn"]["parts"]} == {
        "audio/pcm;rate=24000"}
    assert out.count("You said: hi") == 1  # raw JSON only: no second, human-readable copy
    assert lines[-1]["serverContent"] == {"turnComplete": True}
    assert "usageMetadata" in lines[-1]
    assert err == ""


async def test_chat_reports_refusal_and_close_faults(serve) -> None:
    script = [{"match": "go away", "go_away": "10s", "say": "ok"},
              {"match": "crash", "close": {"code": 1011, "reason": "Internal error encountered."}},
              {"say": "You said: {text}"}]
    async with asyncio.timeout(30):
        server = await serve(script=script, api_keys=["k"])
        rc, out, err = await run_cli("chat", "--url", server.http_url, "--api-key", "bad",
                                     stdin="hello\n")
        assert rc == 1
        assert f"session refused: 1007 {errors.API_KEY_INVALID}" in err
        # --no-resume: with resumption the client would resume after the 1011 and go on
        rc, out, err = await run_cli("chat", "--url", server.http_url, "--api-key", "k",
                                     "--no-resume", stdin="go away now\ncrash\nnever sent\n")
    assert rc == 1
    assert out.startswith("ok\n")
    assert "server sent goAway (10s left)" in err
    assert "session closed: 1011 Internal error encountered." in err


async def test_talk_streams_a_file_and_reports_no_reply(serve, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "speech.wav", rate=44100, channels=2, seconds=0.5)
    async with asyncio.timeout(30):
        server = await serve()
        rc, out, err = await run_cli("talk", str(wav), "--url", server.http_url, "--timeout",
                                     "1", "--save", str(tmp_path / "reply.wav"))
    assert rc == 1
    assert "0.50 s, 44100 Hz, 2 channel(s) -> 16 kHz mono" in err
    assert "sent 0.50 s of audio and audioStreamEnd" in err
    assert "no reply within 1 s after the end of input" in err
    assert "no reply audio to save" in err
    assert not (tmp_path / "reply.wav").exists()


async def test_talk_paces_prints_transcripts_latency_and_saves(listen, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "speech.wav", rate=8000, channels=1, seconds=1.0)
    reply_pcm = (np.sin(np.arange(12000) / 10) * 8000).astype("<i2").tobytes()  # 0.5 s @24k

    async def handler(conn: ListenerConnection) -> None:
        setup = await conn.setup_complete()
        assert setup["generationConfig"] == {"responseModalities": ["AUDIO"]}
        assert setup["inputAudioTranscription"] == {}
        assert setup["outputAudioTranscription"] == {}
        while "audioStreamEnd" not in (await conn.recv()).get("realtimeInput", {}):
            pass
        await conn.send({"serverContent": {"inputTranscription": {"text": " hello there",
                                                                  "finished": True}}})
        await asyncio.sleep(0.2)
        await conn.send({"serverContent": {"outputTranscription": {"text": "Hi!"}}})
        for half in (reply_pcm[:12000], reply_pcm[12000:]):
            await conn.send({"serverContent": {"modelTurn": {"parts": [{"inlineData": {
                "mimeType": "audio/pcm;rate=24000",
                "data": base64.b64encode(half).decode()}}]}}})
        await conn.send({"serverContent": {"generationComplete": True}})
        await conn.send({"serverContent": {"turnComplete": True}})

    async with asyncio.timeout(30):
        listener = await listen(handler)
        rc, out, err = await run_cli("talk", str(wav), "--url", listener.http_url,
                                     "--save", str(tmp_path / "reply.wav"))
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["[you] hello there", "[model] Hi!"]
    assert lines[2].startswith("turn 1: first reply ") and "ms after end of speech" in lines[2]
    latency_ms = float(lines[2].split()[4])
    assert 150 <= latency_ms < 2000
    with wave.open(str(tmp_path / "reply.wav"), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (24000, 1, 12000)
        assert w.readframes(12000) == reply_pcm
    chunks = [f for f in listener.connections[0].frames if "audio" in f.data.get(
        "realtimeInput", {})]
    assert len(chunks) == 10  # 1 s of 8 kHz audio as 100 ms chunks of 16 kHz PCM
    assert sum(len(base64.b64decode(c.data["realtimeInput"]["audio"]["data"]))
               for c in chunks) == 32000
    assert chunks[-1].at - chunks[0].at >= 0.85  # real-time pace, not a burst


async def test_chat_audio_saves_reply_audio(listen, tmp_path: Path) -> None:
    pcm = b"\x10\x00" * 2400

    async def handler(conn: ListenerConnection) -> None:
        await conn.setup_complete()
        await conn.recv()
        await conn.send({"serverContent": {"outputTranscription": {"text": "Hello."}}})
        await conn.send({"serverContent": {"modelTurn": {"parts": [{"inlineData": {
            "mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(pcm).decode()}}]}}})
        await conn.send({"serverContent": {"turnComplete": True}})

    async with asyncio.timeout(30):
        listener = await listen(handler)
        rc, out, err = await run_cli("chat", "--url", listener.http_url, "--audio", "--save",
                                     str(tmp_path / "r.wav"), stdin="hi\n")
    assert rc == 0, err
    assert out == "Hello.\n"
    assert "saved 0.10 s of reply audio" in err
    with wave.open(str(tmp_path / "r.wav"), "rb") as w:
        assert w.readframes(2400) == pcm


async def test_no_sound_device_is_a_clear_exit_2(serve) -> None:
    async with asyncio.timeout(30):
        server = await serve()
        rc, out, err = await run_cli("mic", "--url", server.http_url)
        assert rc == 2
        assert "pip install 'openlive[audio]'" in err and len(err.strip().splitlines()) == 1
        rc, out, err = await run_cli("chat", "--url", server.http_url, "--audio", stdin="hi\n")
    assert rc == 2
    assert "use --save reply.wav" in err


async def test_talk_with_a_missing_file(tmp_path: Path) -> None:
    async with asyncio.timeout(30):
        rc, out, err = await run_cli("talk", str(tmp_path / "nope.wav"))
    assert rc == 2
    assert "no such file" in err
