"""`openlive serve` configuration (flags > OPENLIVE_* > --config TOML > defaults,
--print-config) and --log-format json, on real `openlive serve` processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from live_client import ServeProcess, open_live, send, setup, turn

SECRET = "cfg-secret-key-7f3a91"
EMULATOR = "models/openlive-emulator"


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENLIVE_")}
    return subprocess.run([sys.executable, "-m", "openlive.cli", "serve", *args],
                          env={**clean, **(env or {})}, capture_output=True, text=True,
                          timeout=60)


def config_lines(out: str) -> dict[str, str]:
    """{key: 'value  # source'} from --print-config."""
    lines = {}
    for line in out.splitlines():
        if line and not line.startswith("#"):
            key, _, rest = line.partition(" = ")
            lines[key] = rest
    return lines


def test_flags_beat_environment_beat_file_beat_defaults(tmp_path):
    conf = tmp_path / "openlive.toml"
    conf.write_text('port = 9001\nsession-ttl = 60\nmax_starts_per_minute = 7\n'
                    'allow-origin = ["https://a.example"]\nno-console = true\n'
                    f'api-key = ["{SECRET}"]\n')
    done = serve("--config", str(conf), "--print-config", "--port", "9003",
                 env={"OPENLIVE_PORT": "9002", "OPENLIVE_SESSION_TTL": "120",
                      "OPENLIVE_STORE": "redis://:hunter2pw@127.0.0.1:6379/0"})
    assert done.returncode == 0, done.stderr
    got = config_lines(done.stdout)
    assert got["port"] == "9003  # flag"
    assert got["session-ttl"] == "120.0  # $OPENLIVE_SESSION_TTL"
    assert got["max-starts-per-minute"] == f"7  # {conf}"
    assert got["allow-origin"] == f'["https://a.example"]  # {conf}'
    assert got["no-console"] == f"true  # {conf}"
    assert got["host"] == '"127.0.0.1"  # default'
    assert got["api-key"] == f'["***"]  # {conf}'
    assert got["store"] == '"redis://:***@127.0.0.1:6379/0"  # $OPENLIVE_STORE'
    assert SECRET not in done.stdout + done.stderr
    assert "hunter2pw" not in done.stdout + done.stderr


def test_config_file_from_the_environment_and_old_variable_names(tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text("max-sessions-per-key = 4\n")
    done = serve("--print-config", env={"OPENLIVE_CONFIG": str(conf),
                                        "OPENLIVE_API_KEYS": "k1,k2",
                                        "OPENLIVE_NO_CONSOLE_TOKENS": "1"})
    assert done.returncode == 0, done.stderr
    got = config_lines(done.stdout)
    assert got["max-sessions-per-key"] == f"4  # {conf}"
    assert got["api-key"].startswith('["***", "***"]')
    assert got["no-console-tokens"].startswith("true")


def test_a_repeated_flag_replaces_the_environments_list_but_api_keys_add_up(tmp_path):
    conf = tmp_path / "keys.toml"
    conf.write_text('api-key = ["file-key"]\n')
    done = serve("--print-config", "--allow-origin", "https://b.example", "--api-key", "k",
                 "--config", str(conf),
                 env={"OPENLIVE_ALLOW_ORIGIN": "https://a.example,https://c.example",
                      "OPENLIVE_API_KEYS": "e1,e2"})
    assert done.returncode == 0, done.stderr
    got = config_lines(done.stdout)
    assert got["allow-origin"] == '["https://b.example"]  # flag'
    assert got["api-key"] == f'["***", "***", "***", "***"]  # flag + {conf} + $OPENLIVE_API_KEY'


def test_bad_settings_stop_serve_with_exit_2_naming_them(tmp_path):
    done = serve("--print-config", env={"OPENLIVE_PORT": "eighty"})
    assert done.returncode == 2 and "$OPENLIVE_PORT" in done.stderr, done.stderr
    done = serve("--print-config", env={"OPENLIVE_PORT": "99999"})  # the flag's own check
    assert done.returncode == 2 and "$OPENLIVE_PORT: a port is 0 to 65535" in done.stderr
    done = serve("--print-config", env={"OPENLIVE_METRICS": "loud"})
    assert done.returncode == 2 and "$OPENLIVE_METRICS" in done.stderr, done.stderr
    conf = tmp_path / "typo.toml"
    conf.write_text("prot = 80\n")
    done = serve("--config", str(conf), "--print-config")
    assert done.returncode == 2 and "unknown setting 'prot'" in done.stderr, done.stderr
    conf.write_text("port = \n")
    done = serve("--config", str(conf), "--print-config")
    assert done.returncode == 2 and str(conf) in done.stderr, done.stderr
    done = serve("--config", str(tmp_path / "missing.toml"), "--print-config")
    assert done.returncode == 2 and "no such file" in done.stderr, done.stderr


async def test_json_logs_one_object_a_line_with_session_and_close_code():
    async with ServeProcess("--log-format", "json", "--api-key", SECRET) as server:
        ws = await open_live(server, key=SECRET)
        await setup(ws, model=EMULATOR, generationConfig={"responseModalities": ["TEXT"]})
        await turn(ws, f"please repeat {SECRET}")  # the key reaches a log line only masked
        await ws.close()
        bad = await open_live(server, key="wrong-key")
        await send(bad, {"setup": {"model": EMULATOR}})
        await bad.wait_closed()
        for _ in range(100):  # bounded: the server logs both disconnects
            records = [json.loads(line) for line in server.log if line.strip()]
            closes = [r for r in records if "close_code" in r]
            if len(closes) >= 2:
                break
            await asyncio.sleep(0.1)
    assert {r["close_code"] for r in closes} == {1000, 1007}
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record), record
    sessions = {r["session"] for r in closes}
    assert len(sessions) == 2 and all(isinstance(s, int) for s in sessions)
    assert SECRET not in "".join(server.log)


def test_configured_keys_are_masked_in_every_log_line():
    import io
    import logging

    from openlive.server import logging_setup

    for fmt in logging_setup.LOG_FORMATS:
        out = io.StringIO()
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        logging_setup.configure("info", fmt, secrets=[SECRET, ""], stream=out)
        try:
            logging.getLogger("openlive.test").info("[session 7] got %s from a client", SECRET)
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)
        assert SECRET not in out.getvalue() and "***" in out.getvalue(), out.getvalue()
        if fmt == "json":
            assert json.loads(out.getvalue())["session"] == 7
