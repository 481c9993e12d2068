"""`openlive token create`: mint ephemeral tokens through a server or into a store."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from ..defaults import DEFAULT_PORT


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("token", help="ephemeral tokens (auth_tokens/…)",
                       description="Mint ephemeral tokens for BidiGenerateContentConstrained.")
    tsub = p.add_subparsers(dest="token_command", metavar="ACTION")
    c = tsub.add_parser("create", help="mint one token and print its name",
                        description="Mint a token through a running server's REST API "
                                    "(--url, --api-key), or straight into a store "
                                    "(--store sqlite:PATH | redis://…) that servers share.")
    c.add_argument("--url", default=f"http://127.0.0.1:{DEFAULT_PORT}",
                   help="server base URL (default http://127.0.0.1:8080)")
    # not $GEMINI_API_KEY: on a relay host that is the upstream Google key, not openlive's
    c.add_argument("--api-key", default=os.environ.get("OPENLIVE_API_KEY"),
                   help="the openlive server's API key authorising the request "
                        "(default $OPENLIVE_API_KEY)")
    c.add_argument("--store", metavar="sqlite:PATH|redis://…",
                   help="write into this store instead of calling a server")
    c.add_argument("--ca-file", "--cafile", dest="ca_file", metavar="PEM",
                   help="trust this certificate for https:// URLs (as chat's --ca-file)")
    c.add_argument("--uses", type=int, default=1, help="sessions it may start (0 = unlimited)")
    c.add_argument("--expire", type=float, default=1800.0, metavar="SECONDS",
                   help="token lifetime (default 1800)")
    c.add_argument("--new-session-expire", type=float, default=60.0, metavar="SECONDS",
                   help="new sessions may start only this long (default 60)")
    c.add_argument("--setup", metavar="JSON",
                   help="bidiGenerateContentSetup constraints, e.g. '{\"model\": \"models/x\"}'")
    c.add_argument("--lock", metavar="FIELDS",
                   help="fieldMask: comma-separated locked fields (default: the whole setup)")
    c.add_argument("--json", action="store_true", help="print the whole response as JSON")


def _token_body(args: argparse.Namespace) -> dict:
    import datetime as dt
    import json
    now = dt.datetime.now(dt.UTC)
    body: dict = {
        "uses": args.uses,
        "expireTime": (now + dt.timedelta(seconds=args.expire)).isoformat(),
        "newSessionExpireTime": (now + dt.timedelta(seconds=args.new_session_expire)).isoformat(),
    }
    if args.setup:
        body["bidiGenerateContentSetup"] = json.loads(args.setup)
    if args.lock is not None:
        body["fieldMask"] = args.lock
    return body


def run(args: argparse.Namespace) -> int:
    import json
    try:
        body = _token_body(args)
    except ValueError as exc:
        print(f"openlive: --setup is not JSON: {exc}", file=sys.stderr)
        return 2
    if args.store:
        result = asyncio.run(_token_into_store(args.store, body))
    else:
        result = asyncio.run(_token_from_server(args, body))
    if isinstance(result, str):
        print(f"openlive: {result}", file=sys.stderr)
        return 1
    print(json.dumps(result) if args.json else result["name"])
    return 0


async def _token_into_store(spec: str, body: dict) -> dict | str:
    import time

    from ..session import tokens as tk
    from ..store import StoreError, open_store
    try:
        record = tk.make_token(body, time.time())
        store = open_store(spec)
        await store.open()
    except (tk.TokenRequestError, StoreError) as exc:
        return str(exc)
    try:
        await store.save_token(record["name"], record, record["expire_time"])
    finally:
        await store.aclose()
    return tk.token_response(record)


async def _token_from_server(args: argparse.Namespace, body: dict) -> dict | str:
    import json
    import ssl

    import aiohttp

    from ..wire.endpoints import auth_tokens_path
    url = args.url.rstrip("/") + auth_tokens_path()
    headers = {"Content-Type": "application/json"}
    if args.api_key:
        headers["x-goog-api-key"] = args.api_key
    ctx = ssl.create_default_context(cafile=args.ca_file) if args.ca_file else None
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=json.dumps(body), headers=headers,
                                 ssl=ctx if ctx is not None else True) as resp:
                data = await resp.json(content_type=None)
                if resp.status != 200:
                    message = (data or {}).get("error", {}).get("message", "")
                    return f"token refused: HTTP {resp.status} {message}"
                return data
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return f"cannot reach {url}: {exc}"
