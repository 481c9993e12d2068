"""One readable line per recorded message, as ``openlive recordings show`` writes it and the
replay names what it expected; :func:`shorten`, the one ellipsis cut. No I/O."""

from __future__ import annotations

import json

from .recorder import client_audio, server_audio


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def describe(direction: str, message: dict) -> str:
    """One readable line for one message."""
    def get(obj: dict, camel: str):
        snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
        return obj.get(camel, obj.get(snake))

    if direction == "client":
        for kind in ("setup", "clientContent", "realtimeInput", "toolResponse", "contextUpdate"):
            body = get(message, kind)
            if body is None:
                continue
            if kind == "setup":
                return f"setup model={body.get('model')}"
            if kind == "clientContent":
                texts = ["".join(p.get("text", "") for p in t.get("parts", []))
                         for t in (body.get("turns") or [])]
                done = get(body, "turnComplete")
                return f"clientContent {json.dumps(' / '.join(texts))}" + (
                    " (turnComplete)" if done else "")
            if kind == "realtimeInput":
                audio = client_audio(message)
                if audio:
                    ms = sum(len(pcm) / 2 / rate for pcm, rate in audio) * 1000
                    return f"realtimeInput audio {ms:.0f} ms"
                return f"realtimeInput {json.dumps(body)}"
            if kind == "toolResponse":
                responses = get(body, "functionResponses") or []
                return "toolResponse " + ", ".join(
                    f"{r.get('name')}={json.dumps(r.get('response'))}" for r in responses)
            return f"{kind} {json.dumps(body)}"
        return json.dumps(message)
    if "setupComplete" in message:
        return "setupComplete"
    content = message.get("serverContent")
    if isinstance(content, dict):
        bits = []
        parts = (content.get("modelTurn") or {}).get("parts") or []
        text = "".join(p.get("text", "") for p in parts)
        if text:
            bits.append(json.dumps(text))
        audio = server_audio(message)
        if audio:
            bits.append(f"audio {sum(len(p) / 2 / r for p, r in audio) * 1000:.0f} ms")
        for key in ("inputTranscription", "outputTranscription"):
            if key in content:
                bits.append(f"{key} {json.dumps(content[key].get('text', ''))}")
        for flag in ("interrupted", "generationComplete", "turnComplete"):
            if content.get(flag):
                bits.append(flag)
        return "serverContent " + " ".join(bits)
    if "toolCall" in message:
        calls = message["toolCall"].get("functionCalls") or []
        return "toolCall " + ", ".join(
            f"{c.get('name')}({json.dumps(c.get('args', {}))}) id={c.get('id')}" for c in calls)
    return " ".join(f"{k} {json.dumps(v)}" for k, v in message.items())
