"""The official JS SDK (@google/genai, pinned in js/package.json) against a real openlive
server on loopback, over plain ws:// (the SDK maps an http:// base URL to ws://).

Each test starts a server, runs ``node js/scenario.mjs BASE_URL SCENARIO [KEY]`` and asserts
on the JSON it prints. Needs ``npm ci`` in tests/interop/js (``make test`` does it).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from openlive.wire import errors

pytestmark = pytest.mark.interop

JS_DIR = Path(__file__).parent / "js"
SCENARIO = JS_DIR / "scenario.mjs"
NODE_TIMEOUT = 20  # seconds per node run (startup included); the script bounds each step at 5

SCRIPT = [
    {"match": r"weather in (?P<city>\w+)",
     "call": {"name": "get_weather", "args": {"city": "{city}"}},
     "say": "It is {result[summary]} in {city}."},
    {"match": "crash", "close": {"code": 1011, "reason": "Internal error encountered."}},
    {"match": ".*", "say": "You said: {text}"},
]


def require_js_sdk() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the JS interop tests need Node.js >= 20 "
                    "(then run `make test`)", pytrace=False)
    if not (JS_DIR / "node_modules" / "@google" / "genai" / "package.json").is_file():
        pytest.fail(f"@google/genai is not installed in {JS_DIR}/node_modules: run `make test` "
                    "(it runs `npm ci` there) or `cd tests/interop/js && npm ci`",
                    pytrace=False)
    return node


def installed_sdk_version() -> str:
    pkg = JS_DIR / "node_modules" / "@google" / "genai" / "package.json"
    return json.loads(pkg.read_text(encoding="utf-8"))["version"]


#: The SDK releases the scenarios run on: the pinned one and the newest (package.json).
SDKS = {"pinned": "@google/genai", "newest": "genai-latest"}


async def run_scenario(server: Any, scenario: str, *args: str,
                       sdk: str = "pinned") -> dict[str, Any]:
    node = require_js_sdk()
    env = {**os.environ, "OPENLIVE_GENAI_MODULE": SDKS[sdk]}
    proc = await asyncio.create_subprocess_exec(
        node, str(SCENARIO), server.http_url, scenario, *args, cwd=JS_DIR, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(NODE_TIMEOUT):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"node scenario {scenario!r} did not finish in {NODE_TIMEOUT} s")
    lines = out.decode().strip().splitlines()
    assert lines, f"no output from node (exit {proc.returncode}); stderr:\n{err.decode()}"
    result = json.loads(lines[-1])
    assert proc.returncode == 0 and "error" not in result, (
        f"scenario {scenario!r} failed: {result.get('error')}\nstderr:\n{err.decode()}")
    assert result["scenario"] == scenario
    return result


def assert_turn(turn: dict[str, Any], text: str, *, called: bool = False) -> None:
    """A whole model turn as the app saw it: AUDIO (Live models answer in AUDIO only) whose
    transcript is ``text``; ``called``: the turn made a function call (its arguments count
    as TEXT tokens after the AUDIO ones)."""
    assert turn["text"] == text  # the outputTranscription
    assert turn["textParts"] == 0
    assert turn["audioBytes"] > 0 and turn["audioMimeTypes"] == ["audio/pcm;rate=24000"]
    assert turn["generationComplete"] == 1
    assert turn["turnComplete"] == 1
    assert turn["lastIsTurnComplete"] is True
    assert turn["kinds"][-1] == "serverContent+usageMetadata"
    usage = turn["usageMetadata"]
    assert usage["responseTokenCount"] >= math.ceil(len(text) / 4) > 0
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["responseTokenCount"]
    details = usage["responseTokensDetails"]
    if called:
        assert [d["modality"] for d in details] == ["AUDIO", "TEXT"]
        assert sum(d["tokenCount"] for d in details) == usage["responseTokenCount"]
    else:
        assert details == [{"modality": "AUDIO", "tokenCount": usage["responseTokenCount"]}]


def test_pinned_sdk_is_installed():
    require_js_sdk()
    pinned = json.loads((JS_DIR / "package.json").read_text())["dependencies"]["@google/genai"]
    assert installed_sdk_version() == pinned, "node_modules is stale: run `make test`"


def test_newest_sdk_is_installed_beside_it():
    wanted = json.loads((JS_DIR / "package.json").read_text())["dependencies"]["genai-latest"]
    pkg = JS_DIR / "node_modules" / "genai-latest" / "package.json"
    assert pkg.is_file(), "node_modules is stale: run `make test`"
    installed = json.loads(pkg.read_text(encoding="utf-8"))
    assert installed["name"] == "@google/genai"
    assert wanted == f"npm:@google/genai@{installed['version']}"


@pytest.mark.parametrize("sdk", list(SDKS))
@pytest.mark.parametrize("binary_frames", [True, False], ids=["binary", "text"])
async def test_text_turn(serve, binary_frames, sdk):
    server = await serve(script=SCRIPT, binary_frames=binary_frames)
    result = await run_scenario(server, "text", sdk=sdk)
    assert result["setupComplete"] == {}  # delivered to onmessage after connect() resolved
    assert_turn(result["first"], "You said: Hello from JS")
    assert_turn(result["second"], "You said: string turn")
    assert result["close"]["code"] in (1000, 1005)  # session.close(): a normal close
    assert result["errors"] == []


async def test_realtime_text(serve):
    server = await serve(script=SCRIPT)
    result = await run_scenario(server, "realtime-text")
    assert_turn(result["turn"], "You said: realtime from JS")
    assert result["errors"] == []


@pytest.mark.parametrize("sdk", list(SDKS))
async def test_tool_call_round_trip(serve, sdk):
    server = await serve(script=SCRIPT)
    result = await run_scenario(server, "tool", sdk=sdk)
    (call,) = result["calls"]
    assert call["name"] == "get_weather"
    assert call["args"] == {"city": "Lisbon"}
    assert call["id"]
    assert_turn(result["turn"], "It is windy in Lisbon.", called=True)
    assert result["errors"] == []


async def test_scripted_error_close(serve):
    server = await serve(script=SCRIPT)
    result = await run_scenario(server, "error-close")
    assert result["close"] == {"code": 1011, "reason": "Internal error encountered."}
    assert result["messagesBeforeClose"] == 1  # setupComplete only


async def test_unknown_model_closes_1008(serve):
    server = await serve(script=SCRIPT)
    result = await run_scenario(server, "unknown-model")
    assert result["close"]["code"] == 1008
    assert result["close"]["reason"].startswith(
        "models/no-such-model is not found for API version v1beta, or is not supported for "
        "bidiGenerateContent.")
    assert len(result["close"]["reason"].encode()) <= 123
    assert result["messages"] == 0
    assert result["connectOutcome"] != "resolved"


@pytest.mark.parametrize("sdk", list(SDKS))
async def test_text_setup_on_gemini_3_8_live_closes_1007(serve, sdk):
    """Google closes a TEXT setup on its Live models; @google/genai rejects connect() with
    the close's code and reason, and onclose gets them."""
    server = await serve(script=SCRIPT)
    result = await run_scenario(server, "text-refused", sdk=sdk)
    assert result["close"] == {"code": 1007,
                               "reason": "Cannot extract voices from a non-audio request."}
    assert result["messages"] == 0
    assert result["connectOutcome"].startswith("rejected: ")
    assert "(code 1007): Cannot extract voices from a non-audio request." in (
        result["connectOutcome"])


async def test_wrong_api_key_closes_1007(serve):
    server = await serve(script=SCRIPT, api_keys=["right-key"])
    result = await run_scenario(server, "rejected-key", "wrong-key")
    assert result["close"] == {"code": 1007, "reason": errors.API_KEY_INVALID}
    assert result["messages"] == 0
    assert result["connectOutcome"] != "resolved"


async def test_right_api_key_in_query(serve):
    """JS sends the key as ?key= (no header): a configured key must be accepted there."""
    server = await serve(script=SCRIPT, api_keys=["right-key"])
    result = await run_scenario(server, "realtime-text", "right-key")
    assert_turn(result["turn"], "You said: realtime from JS")
