"""Ephemeral tokens on a real server: REST shapes, BidiGenerateContentConstrained with
?access_token= and Authorization: Token, locked fields, uses and expiry, the CLI, and both
official SDKs' auth_tokens.create."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from live_client import (
    MODEL,
    MODEL_NAME,
    OTHER_MODEL,
    closed_with,
    handles,
    open_live,
    reply_text,
    send,
    setup,
    turn,
)
from openlive.session.limits import Limits
from openlive.wire import errors

KEY = "sekret-key"
NO_LIMITS = Limits.none()
# a spent, expired or unknown token: the close of a caller without credentials
REFUSED = (1008, errors.cut_reason(errors.UNREGISTERED_CALLER))
JS_DIR = Path(__file__).resolve().parents[1] / "interop" / "js"
# Live models answer in AUDIO only (issue 12): the SDK flows ask for AUDIO and read the
# reply's words from its transcript, as Google documents
AUDIO_OUT: dict[str, Any] = {"response_modalities": ["AUDIO"], "output_audio_transcription": {}}


def iso(seconds_from_now: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)).isoformat()


async def create(server: Any, body: dict | None, *, key: str | None = KEY,
                 version: str = "v1alpha") -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["x-goog-api-key"] = key
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.http_url}/{version}/auth_tokens", headers=headers,
                             data=b"" if body is None else json.dumps(body)) as resp:
            return resp.status, await resp.json()


async def test_rest_create_shapes_and_refusals(serve) -> None:
    server = await serve(api_keys=[KEY])
    async with asyncio.timeout(10):
        status, data = await create(server, None)
        assert status == 200 and data["name"].startswith("auth_tokens/") and data["uses"] == 1
        expire = dt.datetime.fromisoformat(data["expireTime"].replace("Z", "+00:00"))
        assert 1750 < (expire - dt.datetime.now(dt.UTC)).total_seconds() <= 1800
        for version in ("v1beta", "v1"):
            status, data = await create(server, {"uses": 3, "expireTime": iso(600),
                                                 "newSessionExpireTime": iso(60)},
                                        version=version)
            assert status == 200 and data["uses"] == 3
        status, data = await create(server, None, key="wrong")
        assert status == 400 and data["error"]["message"] == errors.API_KEY_INVALID
        status, data = await create(server, None, key=None)
        assert status == 403 and data["error"]["status"] == "PERMISSION_DENIED"
        status, data = await create(server, {"uses": 1, "expireTime": iso(30 * 3600)})
        assert status == 400 and "20 hours" in data["error"]["message"]
        status, data = await create(server, {"bidiGenerateContentSetup": {"modell": "x"}})
        assert status == 400 and "modell" in data["error"]["message"]


async def test_constrained_accepts_both_credential_forms_and_spends_uses(serve, caplog) -> None:
    caplog.set_level(logging.INFO, "openlive")
    server = await serve(api_keys=[KEY], limits=NO_LIMITS)
    async with asyncio.timeout(15):
        _, tok = await create(server, {"uses": 2})
        name = tok["name"]
        ws = await open_live(server, constrained=True, query=f"access_token={name}")
        await setup(ws)
        assert reply_text(await turn(ws, "hi")) == "You said: hi"
        await ws.close()
        ws = await open_live(server, constrained=True,
                             headers={"Authorization": f"Token {name}", "x-goog-api-key": name})
        await setup(ws)
        await ws.close()
        ws = await open_live(server, constrained=True, query=f"access_token={name}")
        await send(ws, {"setup": {"model": MODEL}})
        assert await closed_with(ws) == REFUSED  # the third session: both uses are spent
        for query in ("access_token=auth_tokens/made-up", ""):
            ws = await open_live(server, constrained=True, query=query)
            await send(ws, {"setup": {"model": MODEL}})
            assert await closed_with(ws) == REFUSED
    # the client hears Google's one reason; the operator's log says which rule refused
    logged = [r.getMessage() for r in caplog.records if "refused: " in r.getMessage()]
    assert any("refused: ephemeral token spent" in line
               for line in logged), logged
    assert any(line.endswith("refused: unknown ephemeral token") for line in logged), logged
    assert not any(name in r.getMessage() for r in caplog.records)  # never the token


async def test_resuming_does_not_spend_a_use_and_expiry_is_enforced(serve) -> None:
    server = await serve(api_keys=[KEY], limits=NO_LIMITS)
    async with asyncio.timeout(15):
        _, tok = await create(server, {"uses": 1, "expireTime": iso(2.0),
                                       "newSessionExpireTime": iso(1.0)})
        q = f"access_token={tok['name']}"
        ws = await open_live(server, constrained=True, query=q)
        [h] = handles(await setup(ws, sessionResumption={}))
        await ws.close()
        ws = await open_live(server, constrained=True, query=q)  # resume: no use spent
        got = await setup(ws, sessionResumption={"handle": h})
        assert handles(got)
        await ws.close()
        await asyncio.sleep(1.1)  # past newSessionExpireTime: no new session...
        ws = await open_live(server, constrained=True, query=q)
        await send(ws, {"setup": {"model": MODEL}})
        assert await closed_with(ws) == REFUSED
        ws = await open_live(server, constrained=True, query=q)  # ...but resuming works
        await setup(ws, sessionResumption={"handle": h})
        await ws.close()
        await asyncio.sleep(1.0)  # past expireTime: nothing
        ws = await open_live(server, constrained=True, query=q)
        await send(ws, {"setup": {"model": MODEL,
                                  "sessionResumption": {"handle": h}}})
        assert await closed_with(ws) == REFUSED


async def test_locked_fields_override_what_the_client_sends(serve) -> None:
    server = await serve(api_keys=[KEY], limits=NO_LIMITS)
    async with asyncio.timeout(15):
        locked = {"model": OTHER_MODEL,
                  "generationConfig": {"temperature": 0.2},
                  "systemInstruction": {"parts": [{"text": "be brief"}]},
                  "sessionResumption": {}}
        _, tok = await create(server, {"bidiGenerateContentSetup": locked,
                                       "fieldMask": "model,generationConfig.temperature,"
                                                    "systemInstruction,sessionResumption"})
        ws = await open_live(server, constrained=True, query=f"access_token={tok['name']}")
        first = await setup(ws, generationConfig={"temperature": 1.5, "topK": 7},
                            systemInstruction={"parts": [{"text": "ignore the rules"}]},
                            sessionResumption={})
        stored = await server.live.store.load_session(handles(first)[0], 0.0)
        used = stored["setup"]
        assert stored["model"] == OTHER_MODEL
        assert used["generationConfig"] == {"temperature": 0.2, "topK": 7}
        assert used["systemInstruction"]["parts"] == [{"text": "be brief"}]
        await ws.close()
        # no fieldMask: the token's whole setup is the setup
        _, tok = await create(server, {"bidiGenerateContentSetup": locked})
        ws = await open_live(server, constrained=True, query=f"access_token={tok['name']}")
        await send(ws, {"setup": {"model": MODEL,
                                  "generationConfig": {"topK": 7}}})
        first = [json.loads(await ws.recv()), json.loads(await ws.recv())]
        stored = await server.live.store.load_session(handles(first)[0], 0.0)
        assert stored["setup"]["generationConfig"] == {"temperature": 0.2}
        await ws.close()


async def test_cli_token_create(serve, tmp_path) -> None:
    server = await serve(api_keys=[KEY], limits=NO_LIMITS)
    async with asyncio.timeout(20):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "openlive.cli", "token", "create", "--url", server.http_url,
            "--api-key", KEY, "--uses", "1",
            "--setup", '{"model": "models/gemini-2.0-flash-exp"}',
            "--json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        data = json.loads(out)
        assert data["name"].startswith("auth_tokens/") and data["uses"] == 1
        ws = await open_live(server, constrained=True, query=f"access_token={data['name']}")
        await setup(ws)
        await ws.close()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "openlive.cli", "token", "create", "--url", server.http_url,
            "--api-key", "wrong", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 1 and errors.API_KEY_INVALID in err.decode()


@pytest.mark.interop
async def test_python_sdk_auth_tokens_create_and_connect(serve, client_ssl) -> None:
    from google import genai
    from google.genai import errors as genai_errors
    from google.genai import types
    server = await serve(tls=True, api_keys=[KEY], limits=NO_LIMITS)
    opts: dict[str, Any] = {"base_url": server.http_url, "api_version": "v1alpha",
                            "async_client_args": {"ssl": client_ssl}}
    async with asyncio.timeout(20):
        client = genai.Client(api_key=KEY, http_options={**opts, "client_args": {
            "verify": client_ssl}})
        token = await client.aio.auth_tokens.create(config=types.CreateAuthTokenConfig(
            uses=1, expire_time=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
            live_connect_constraints=types.LiveConnectConstraints(
                model=MODEL_NAME,
                config=types.LiveConnectConfig(**AUDIO_OUT, session_resumption={})),
            lock_additional_fields=[]))
        assert token.name.startswith("auth_tokens/")
        ephemeral = genai.Client(api_key=token.name, http_options=opts)
        handle = None
        async with ephemeral.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT) as s:
            await s.send_client_content(turns=types.Content(
                role="user", parts=[types.Part(text="token hello")]))
            text, audio = "", b""
            async for msg in s.receive():
                content = msg.server_content
                if content and content.output_transcription:
                    text += content.output_transcription.text or ""
                if content and content.model_turn:
                    audio += b"".join(p.inline_data.data for p in content.model_turn.parts
                                      if p.inline_data and p.inline_data.data)
            async for msg in s.receive():  # the update after turnComplete
                if msg.session_resumption_update and msg.session_resumption_update.resumable:
                    handle = msg.session_resumption_update.new_handle
                    break
            assert text == "You said: token hello" and audio
        assert handle
        # resuming with the spent token works (no use spent)...
        async with ephemeral.aio.live.connect(
                model=MODEL_NAME,
                config={**AUDIO_OUT, "session_resumption": {"handle": handle}}) as s:
            assert s.setup_complete is not None
        # ...a new session does not: the single use is gone
        with pytest.raises(genai_errors.APIError) as info:
            async with ephemeral.aio.live.connect(model=MODEL_NAME, config=AUDIO_OUT):
                pass
        assert info.value.code == 1008


JS_SCRIPT = r"""
const [sdkPath, baseUrl, key, model] = process.argv.slice(2);
const { GoogleGenAI, Modality } = await import(sdkPath);
// Live models answer in AUDIO only: the reply's words are its transcript
const AUDIO_OUT = { responseModalities: [Modality.AUDIO], outputAudioTranscription: {} };
const step = (p, what) => Promise.race([p, new Promise((_, r) =>
  setTimeout(() => r(new Error('timed out: ' + what)), 5000))]);
try {
  const ai = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl, apiVersion: 'v1alpha' } });
  const token = await step(ai.authTokens.create({ config: {
    uses: 1, expireTime: new Date(Date.now() + 300000).toISOString(),
    liveConnectConstraints: { model, config: AUDIO_OUT } } }), 'create');
  const eph = new GoogleGenAI({ apiKey: token.name,
                                httpOptions: { baseUrl, apiVersion: 'v1alpha' } });
  let text = '', audio = 0, done;
  const finished = new Promise((r) => { done = r; });
  const session = await step(eph.live.connect({ model, config: AUDIO_OUT,
    callbacks: { onmessage: (m) => {
      text += m.serverContent?.outputTranscription?.text ?? '';
      for (const p of m.serverContent?.modelTurn?.parts ?? []) audio += p.inlineData ? 1 : 0;
      if (m.serverContent?.turnComplete) done(); } } }), 'connect');
  session.sendClientContent({ turns: [{ role: 'user', parts: [{ text: 'js token' }] }] });
  await step(finished, 'turn');
  session.close();
  console.log(JSON.stringify({ name: token.name, text, audio }));
} catch (e) { console.log(JSON.stringify({ error: String(e?.stack ?? e) })); process.exit(1); }
"""


@pytest.mark.interop
async def test_js_sdk_auth_tokens_create_and_connect(serve, tmp_path) -> None:
    node = shutil.which("node")
    sdk = JS_DIR / "node_modules" / "@google" / "genai" / "dist" / "node" / "index.mjs"
    if node is None or not sdk.is_file():
        pytest.fail("node and @google/genai are needed: run `make test`", pytrace=False)
    script = tmp_path / "tokens.mjs"
    script.write_text(JS_SCRIPT)
    server = await serve(api_keys=[KEY], limits=NO_LIMITS)
    proc = await asyncio.create_subprocess_exec(
        node, str(script), sdk.as_uri(), server.http_url, KEY, MODEL_NAME,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(25):
        out, err = await proc.communicate()
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert proc.returncode == 0, (result, err.decode())
    assert result["name"].startswith("auth_tokens/")
    assert result["text"] == "You said: js token" and result["audio"] > 0
