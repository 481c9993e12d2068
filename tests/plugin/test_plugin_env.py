"""``live_server_env``: an app that builds its own client from the environment
(``genai.Client()``, ``new GoogleGenAI({})``) talks to the test server unchanged, over TLS,
with the official Python SDK in-process and the official JS SDK in a Node subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

JS_MODULES = Path(__file__).parents[1] / "interop" / "js" / "node_modules"
MODEL = "openlive-emulator"  # TEXT replies: the test is about where the app connects
SCRIPT = [{"say": "heard {text}"}]

NODE_APP = """
import { GoogleGenAI, Modality } from '@google/genai';

const ai = new GoogleGenAI({});  // the app's own client: base URL and key from the environment
const done = new Promise((resolve, reject) => {
  const texts = [];
  ai.live.connect({
    model: 'openlive-emulator',
    config: { responseModalities: [Modality.TEXT] },
    callbacks: {
      onmessage: (m) => {
        if (m.text) texts.push(m.text);
        if (m.serverContent?.turnComplete) resolve(texts.join(''));
      },
      onerror: (e) => reject(new Error(String(e?.message ?? e))),
    },
  }).then((session) => {
    session.sendRealtimeInput({ text: 'from node' });
    done.then(() => session.close());
  }, reject);
});
setTimeout(() => { console.log(JSON.stringify({ error: 'timed out' })); process.exit(1); }, 15000);
console.log(JSON.stringify({ reply: await done }));
process.exit(0);
"""


async def own_client_app(question: str) -> str:
    """An app that builds its client as Google's docs show: ``genai.Client()``."""
    from google import genai

    client = genai.Client()
    async with client.aio.live.connect(model=MODEL,
                                       config={"response_modalities": ["TEXT"]}) as session:
        await session.send_realtime_input(text=question)
        return "".join([m.text or "" async for m in session.receive()])


@pytest.mark.openlive(script=SCRIPT)
async def test_an_app_building_its_own_python_client(live_server_env) -> None:
    assert os.environ["GOOGLE_GEMINI_BASE_URL"] == live_server_env.url.rstrip("/")
    assert live_server_env.url.startswith("https://")  # TLS, trusted through SSL_CERT_FILE
    bundle = Path(os.environ["SSL_CERT_FILE"]).read_text()
    assert live_server_env.cert.read_text() in bundle and bundle.count("BEGIN CERTIFICATE") > 1
    async with asyncio.timeout(20):
        assert await own_client_app("from python") == "heard from python"
        [session] = await live_server_env.await_closed()
    assert session.texts() == ["from python"]


@pytest.mark.openlive(script=SCRIPT)
async def test_an_app_building_its_own_js_client(live_server_env, tmp_path) -> None:
    node = shutil.which("node")
    if node is None or not (JS_MODULES / "@google" / "genai").is_dir():
        pytest.fail("needs node and @google/genai in tests/interop/js (make test runs npm ci)",
                    pytrace=False)
    (tmp_path / "node_modules").symlink_to(JS_MODULES)
    (tmp_path / "app.mjs").write_text(NODE_APP)
    proc = await asyncio.create_subprocess_exec(
        node, "app.mjs", cwd=tmp_path, env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert json.loads(out.decode().splitlines()[-1]) == {"reply": "heard from node"}
    assert live_server_env.sessions[0].texts() == ["from node"]


def test_the_environment_is_the_tests_only(live_server) -> None:
    env = live_server.environ(api_key="k")
    assert env["GOOGLE_GEMINI_BASE_URL"] == live_server.url
    assert env["GEMINI_API_KEY"] == env["GOOGLE_API_KEY"] == "k"
    assert env["NODE_EXTRA_CA_CERTS"] == str(live_server.cert)
    assert "GOOGLE_GEMINI_BASE_URL" not in os.environ or (
        os.environ["GOOGLE_GEMINI_BASE_URL"] != live_server.url)
