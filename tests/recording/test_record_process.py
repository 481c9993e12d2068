"""`openlive serve --record DIR` as a real process with a real client: the recording grows
while the session runs, survives ``kill -9`` line for line, and holds no key or handle."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import stat
import sys
import wave
from pathlib import Path

import numpy as np
import websockets

from openlive.cli import main
from openlive.recording import read_recording
from openlive.recording.recorder import export_audio, handle_digest

# openlive's own model, where TEXT replies stay allowed: these tests are about mechanics,
# not Google fidelity (gemini Live models answer in AUDIO only)
MODEL = "models/openlive-emulator"

_BIN = Path(sys.executable).with_name("openlive")
OPENLIVE = [str(_BIN)] if _BIN.exists() else [sys.executable, "-m", "openlive.cli"]
ENDPOINT = re.compile(r"Live endpoint: (wss?://\S+)")
KEY = "k3y-that-must-never-be-written"
SETUP = {"setup": {"model": MODEL,
                   "generationConfig": {"responseModalities": ["TEXT"]},
                   "sessionResumption": {}}}


def tone(seconds: float, rate: int = 16_000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 330 * t) * 6000).astype("<i2").tobytes()


async def until_turn_complete(ws) -> list[dict]:
    out = []
    while True:
        out.append(json.loads(await ws.recv()))
        if out[-1].get("serverContent", {}).get("turnComplete"):
            return out


async def test_recording_grows_live_and_survives_kill_9_without_secrets(tmp_path, capsys):
    record = tmp_path / "rec"
    proc = await asyncio.create_subprocess_exec(
        *OPENLIVE, "serve", "--port", "0", "--record", str(record), "--api-key", KEY,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL, env={**os.environ, "OPENLIVE_API_KEYS": ""})
    try:
        async with asyncio.timeout(30):
            url = None
            while url is None:
                line = (await proc.stdout.readline()).decode()
                assert line, "server exited before serving"
                found = ENDPOINT.search(line)
                url = found and found.group(1)
            async with websockets.connect(f"{url}?key={KEY}") as ws:
                await ws.send(json.dumps(SETUP))
                assert "setupComplete" in json.loads(await ws.recv())
                handles = [json.loads(await ws.recv())["sessionResumptionUpdate"]["newHandle"]]
                sound = tone(0.25)
                for i in range(0, len(sound), 3200):  # 100 ms chunks, as a microphone sends
                    await ws.send(json.dumps({"realtimeInput": {"audio": {
                        "mimeType": "audio/pcm;rate=16000",
                        "data": base64.b64encode(sound[i:i + 3200]).decode()}}}))
                await ws.send(json.dumps({"clientContent": {"turns": [
                    {"role": "user", "parts": [{"text": "hello"}]}], "turnComplete": True}}))
                replies = await until_turn_complete(ws)
                replies.append(json.loads(await ws.recv()))  # the handle after the turn
                handles += [m["sessionResumptionUpdate"]["newHandle"] for m in replies
                            if m.get("sessionResumptionUpdate", {}).get("newHandle")]
                # the session is still open: what has happened is on disk already
                [path] = record.glob("*.jsonl")
                deadline = asyncio.get_running_loop().time() + 5
                while True:  # each reply is written as it is sent, a moment before
                    live = read_recording(path)
                    done = [r for r in live if r.get("message", {}).get(
                        "serverContent", {}).get("turnComplete")]
                    if done or asyncio.get_running_loop().time() > deadline:
                        break
                    await asyncio.sleep(0.01)
                kinds = [next(iter(r["message"])) for r in live if r["direction"] == "client"]
                assert kinds == ["setup", "realtimeInput", "realtimeInput", "realtimeInput",
                                 "clientContent"]
                assert done, live
                [wav_path] = export_audio(path, tmp_path / "during")  # audio: in the JSONL
                with wave.open(str(wav_path)) as w:
                    assert w.readframes(w.getnframes()) == sound
                proc.kill()  # kill -9 with the session open
                await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    lines = path.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is whole
    assert len(records) >= len(live) and records[-1]["direction"] != "close"
    [wav_path] = export_audio(path, tmp_path / "after")
    with wave.open(str(wav_path)) as w:
        assert (w.getframerate(), w.readframes(w.getnframes())) == (16_000, sound)
    # no key, no handle in clear: handles appear only as their digests
    assert handles
    assert stat.S_IMODE(record.stat().st_mode) == 0o700  # private (issue 13)
    for file in record.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        data = file.read_bytes()
        assert KEY.encode() not in data, file
        for handle in handles:
            assert handle.encode() not in data, file
    written = [r["message"]["sessionResumptionUpdate"]["newHandle"] for r in records
               if r.get("message", {}).get("sessionResumptionUpdate", {}).get("newHandle")]
    assert written == [handle_digest(h) for h in handles]
    assert main(["recordings", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "realtimeInput audio 100 ms" in out and "did not close cleanly" in out
