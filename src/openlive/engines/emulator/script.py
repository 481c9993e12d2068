"""The emulator's YAML script: rules tried in order against each user turn's text. Pure.

```yaml
- match: "weather in (?P<city>\\w+)"          # case-insensitive regex search
  call: {name: get_weather, args: {city: "{city}"}}
  say: "It is {result[summary]} in {city}."
- match: "crash"
  close: {code: 1011, reason: "Internal error encountered."}
- match: ".*"
  say: "You said: {text}"
```
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..vision.description import Description
from ..vision.seen import SEEN_HELP, compile_seen, seen_match, seen_values

DEFAULT_REPLY = "You said: {text}"

RULE_KEYS = {
    "match": "case-insensitive regex searched in the user's text (default: matches anything)",
    "say": "reply text template",
    "call": "a function call {name, args} or a list of them; the reply waits for toolResponse",
    "delay": "seconds to wait before the first output",
    "chunk_chars": "characters per modelTurn text chunk (default 40; 0 = whole reply)",
    "chunk_delay": "seconds between text chunks",
    "go_away": "send goAway with this timeLeft (e.g. '10s') before replying",
    "close": "{code, reason}: close the session after the reply",
    "times": "how many turns this rule may answer (default: unlimited)",
    "seen": SEEN_HELP + " (docs/vision.md; needs the vision extra)",
    # What else Google's models send in a turn (field names and values: google-genai 3.6.1
    # LiveServerContent and Part); each goes out as written, at its place in the turn.
    "thought": "a thought part (text template, sent with thought: true) before the reply",
    "grounding": "groundingMetadata (a mapping, sent as given) after the reply",
    "url_context": "urlContextMetadata (a mapping, sent as given) after the reply",
    "turn_complete_reason": "turnCompleteReason on the turnComplete, e.g. NEED_MORE_INPUT",
    "waiting_for_input": "waitingForInput: true|false on the turnComplete",
    "send": "a server message (or a list of them) sent exactly as written after the reply: "
            "the escape hatch for anything else",
}

#: google-genai 3.6.1 TurnCompleteReason.
TURN_COMPLETE_REASONS = (
    "TURN_COMPLETE_REASON_UNSPECIFIED", "MALFORMED_FUNCTION_CALL", "RESPONSE_REJECTED",
    "NEED_MORE_INPUT", "PROHIBITED_INPUT_CONTENT", "IMAGE_PROHIBITED_INPUT_CONTENT",
    "INPUT_TEXT_CONTAIN_PROMINENT_PERSON_PROHIBITED")


class ScriptError(ValueError):
    """A script that cannot be used; the message says which rule and why."""


@dataclass(frozen=True)
class CallSpec:
    name: str
    args: Any = None


@dataclass
class Rule:
    index: int
    pattern: re.Pattern[str]
    say: str | None = None
    calls: list[CallSpec] = field(default_factory=list)
    delay: float = 0.0
    chunk_chars: int = 40
    chunk_delay: float = 0.0
    go_away: str | None = None
    close: tuple[int, str] | None = None
    times: int | None = None
    thought: str | None = None
    grounding: dict[str, Any] | None = None
    url_context: dict[str, Any] | None = None
    turn_complete_reason: str | None = None
    waiting_for_input: bool | None = None
    send: list[dict[str, Any]] = field(default_factory=list)
    seen: re.Pattern[str] | None = None  # searched in the latest video frame's description
    used: int = 0


def default_rules() -> list[Rule]:
    return [Rule(index=0, pattern=re.compile(""), say=DEFAULT_REPLY)]


def load_script(path: str | Path) -> list[Rule]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScriptError(f"cannot read script {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ScriptError(f"{path} is not valid YAML: {exc}") from None
    return parse_rules(data, source=str(path))


def parse_rules(data: Any, source: str = "script") -> list[Rule]:
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    if not isinstance(data, list) or not data:
        raise ScriptError(f"{source}: expected a non-empty list of rules")
    return [_parse_rule(i, item, source) for i, item in enumerate(data, start=1)]


def _parse_rule(index: int, item: Any, source: str) -> Rule:
    where = f"{source}: rule {index}"
    if not isinstance(item, dict):
        raise ScriptError(f"{where}: expected a mapping, got {type(item).__name__}")
    unknown = sorted(set(item) - set(RULE_KEYS))
    if unknown:
        raise ScriptError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                          f"known keys: {', '.join(RULE_KEYS)}")
    try:
        pattern = re.compile(str(item.get("match", "")), re.IGNORECASE)
    except re.error as exc:
        raise ScriptError(f"{where}: bad regex in 'match': {exc}") from None
    rule = Rule(index=index, pattern=pattern)
    if "seen" in item:
        try:
            rule.seen = compile_seen(item["seen"])
        except re.error as exc:
            raise ScriptError(f"{where}: bad regex in 'seen': {exc}") from None
    if "say" in item:
        rule.say = str(item["say"])
    rule.calls = _parse_calls(item.get("call"), where)
    rule.delay = _number(item, "delay", 0.0, where)
    rule.chunk_delay = _number(item, "chunk_delay", 0.0, where)
    rule.chunk_chars = int(_number(item, "chunk_chars", 40, where))
    if "go_away" in item:
        rule.go_away = _duration(item["go_away"], where)
    if "close" in item:
        rule.close = _parse_close(item["close"], where)
    if "times" in item:
        rule.times = int(_number(item, "times", 1, where))
    _parse_extras(rule, item, where)
    if rule.say is None and not rule.calls and rule.close is None and rule.go_away is None \
            and not rule.send and rule.thought is None:
        raise ScriptError(f"{where}: needs at least one of say, call, close, go_away, send, "
                          "thought")
    return rule


def _parse_extras(rule: Rule, item: dict, where: str) -> None:
    """The keys for the rest of what a model turn may hold (thought, metadata, raw)."""
    if "thought" in item:
        rule.thought = str(item["thought"])
    for key in ("grounding", "url_context"):
        if key in item:
            if not isinstance(item[key], dict):
                raise ScriptError(f"{where}: '{key}' must be a mapping (sent as given)")
            setattr(rule, key, item[key])
    if "turn_complete_reason" in item:
        reason = item["turn_complete_reason"]
        if reason not in TURN_COMPLETE_REASONS:
            raise ScriptError(f"{where}: turn_complete_reason must be one of "
                              f"{', '.join(TURN_COMPLETE_REASONS)}")
        rule.turn_complete_reason = reason
    if "waiting_for_input" in item:
        if not isinstance(item["waiting_for_input"], bool):
            raise ScriptError(f"{where}: waiting_for_input must be true or false")
        rule.waiting_for_input = item["waiting_for_input"]
    if "send" in item:
        sent = item["send"] if isinstance(item["send"], list) else [item["send"]]
        if not sent or not all(isinstance(m, dict) and m for m in sent):
            raise ScriptError(f"{where}: 'send' must be a server message (a non-empty mapping)"
                              " or a list of them")
        rule.send = sent


def _parse_calls(value: Any, where: str) -> list[CallSpec]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    calls = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ScriptError(f"{where}: 'call' needs a mapping with a string 'name'")
        extra = set(item) - {"name", "args"}
        if extra:
            raise ScriptError(f"{where}: unknown key(s) in call: {', '.join(sorted(extra))}")
        args = item.get("args") or {}
        if not isinstance(args, dict):
            raise ScriptError(f"{where}: call args must be a mapping")
        calls.append(CallSpec(name=item["name"], args=args))
    return calls


def _parse_close(value: Any, where: str) -> tuple[int, str]:
    if not isinstance(value, dict) or "code" not in value:
        raise ScriptError(f"{where}: 'close' needs a mapping with 'code' (and 'reason')")
    code = value["code"]
    if not isinstance(code, int) or not (1000 <= code <= 4999) or code in (1004, 1005, 1006,
                                                                           1015):
        raise ScriptError(f"{where}: close code {code!r} cannot be sent in a close frame")
    return code, str(value.get("reason", ""))


def _number(item: dict, key: str, default: float, where: str) -> float:
    value = item.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ScriptError(f"{where}: '{key}' must be a non-negative number, got {value!r}")
    return float(value)


def _duration(value: Any, where: str) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}s"
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?s", value.strip()):
        return value.strip()
    raise ScriptError(f"{where}: go_away must be seconds (10) or a duration string ('10s')")


def choose(rules: list[Rule], text: str, seen: Description | None = None
           ) -> tuple[Rule, dict[str, Any]] | None:
    """The first usable rule whose pattern is found in ``text`` (and, for a rule with
    ``seen``, whose ``seen`` is found in ``seen``, the turn's video frame description), with
    its template values ({seen} {ocr} {objects} {qr} among them: engines/vision/seen.py)."""
    for rule in rules:
        if rule.times is not None and rule.used >= rule.times:
            continue
        m = rule.pattern.search(text)
        if m is None:
            continue
        sm = seen_match(rule.seen, seen) if rule.seen is not None else None
        if rule.seen is not None and sm is None:
            continue
        rule.used += 1
        values: dict[str, Any] = seen_values(seen, sm)
        values.update({k: v or "" for k, v in m.groupdict().items()})
        for i, g in enumerate(m.groups(), start=1):
            values.setdefault(f"g{i}", g or "")
        values["text"] = text
        return rule, values
    return None


class _Formatter(string.Formatter):
    """str.format that leaves unknown placeholders as they are (a script typo shows up in
    the reply instead of failing the turn)."""

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        if isinstance(key, str) and key not in kwargs:
            return _Missing(key)
        return super().get_value(key, args, kwargs)

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        try:
            return super().get_field(field_name, args, kwargs)
        except (KeyError, IndexError, TypeError, AttributeError):
            return "{" + field_name + "}", field_name


class _Missing(str):
    def __new__(cls, key: str) -> _Missing:
        return super().__new__(cls, "{" + key + "}")

    def __getitem__(self, item: Any) -> _Missing:  # type: ignore[override]
        return _Missing(f"{str.__str__(self)[1:-1]}[{item}]")


_FORMATTER = _Formatter()


def uses_results(template: str) -> bool:
    """Does this template read tool results ({result[...]}, {results[...]})?"""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    except ValueError:
        return False
    return any(name.split("[", 1)[0].split(".", 1)[0] in ("result", "results")
               for name in fields)


def render(template: str, values: dict[str, Any]) -> str:
    try:
        return _FORMATTER.vformat(template, (), values)
    except (ValueError, IndexError):  # unbalanced braces: say it literally
        return template


def render_args(args: Any, values: dict[str, Any]) -> Any:
    if isinstance(args, str):
        return render(args, values)
    if isinstance(args, dict):
        return {k: render_args(v, values) for k, v in args.items()}
    if isinstance(args, list):
        return [render_args(v, values) for v in args]
    return args


def chunks(text: str, size: int) -> list[str]:
    """Split a reply into stream chunks, preferring word boundaries."""
    if size <= 0 or len(text) <= size:
        return [text]
    out, start = [], 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            space = text.rfind(" ", start + 1, end)
            if space > start:
                end = space + 1
        out.append(text[start:end])
        start = end
    return out
