"""engines/emulator/script.py: rule parsing, matching, templates and chunking (pure)."""

from __future__ import annotations

import pytest

from openlive.engines.emulator.script import (
    ScriptError,
    choose,
    chunks,
    load_script,
    parse_rules,
    render,
    render_args,
)

# ------------------------------------------------------------------- validation


def script_error(data, source: str = "s.yaml") -> str:
    with pytest.raises(ScriptError) as info:
        parse_rules(data, source=source)
    return str(info.value)


def test_unknown_key_names_the_rule_and_the_key():
    msg = script_error([{"say": "ok"}, {"match": "x", "sya": "typo"}])
    assert msg.startswith("s.yaml: rule 2: ")
    assert "unknown key(s) sya" in msg
    assert "say" in msg  # the known keys are listed


def test_bad_regex_names_the_rule():
    msg = script_error([{"say": "a"}, {"say": "b"}, {"match": "(unclosed", "say": "c"}])
    assert msg.startswith("s.yaml: rule 3: bad regex in 'match'")


@pytest.mark.parametrize("code", [1005, 1006, 1015, 999, 5000, "1011", None])
def test_bad_close_code_names_the_rule(code):
    msg = script_error([{"match": "x", "close": {"code": code, "reason": "r"}}])
    assert msg.startswith("s.yaml: rule 1: close code")
    assert "cannot be sent" in msg


def test_close_without_code():
    msg = script_error([{"close": {"reason": "r"}}])
    assert msg.startswith("s.yaml: rule 1: 'close' needs a mapping with 'code'")


def test_rule_without_action_names_the_rule():
    msg = script_error([{"say": "ok"}, {"match": "only a pattern"}])
    assert msg == ("s.yaml: rule 2: needs at least one of say, call, close, go_away, send, "
                   "thought")


@pytest.mark.parametrize("data", [[], None, "say: hi", {"say": "x"}])
def test_not_a_list_of_rules(data):
    assert "expected a non-empty list of rules" in script_error(data)


@pytest.mark.parametrize("rule,fragment", [
    ({"say": "x", "delay": -1}, "'delay' must be a non-negative number"),
    ({"say": "x", "chunk_delay": "fast"}, "'chunk_delay' must be a non-negative number"),
    ({"say": "x", "chunk_chars": True}, "'chunk_chars' must be a non-negative number"),
    ({"go_away": "ten seconds"}, "go_away must be seconds"),
    ({"call": {"args": {}}}, "'call' needs a mapping with a string 'name'"),
    ({"call": {"name": "f", "arguments": {}}}, "unknown key(s) in call: arguments"),
    ({"call": {"name": "f", "args": [1]}}, "call args must be a mapping"),
    ("just a string", "expected a mapping, got str"),
])
def test_other_validation_errors_name_the_rule(rule, fragment):
    msg = script_error([{"say": "first"}, rule])
    assert msg.startswith("s.yaml: rule 2: ")
    assert fragment in msg


def test_rules_under_a_rules_key_and_defaults():
    rules = parse_rules({"rules": [
        {"say": "hi"},
        {"match": "x", "go_away": 10, "close": {"code": 1011}, "times": 2,
         "call": [{"name": "a"}, {"name": "b", "args": {"k": "{text}"}}]},
    ]})
    first, second = rules
    assert first.index == 1 and first.chunk_chars == 40 and first.delay == 0.0
    assert first.times is None and first.calls == []
    assert second.go_away == "10s" and second.close == (1011, "") and second.times == 2
    assert [c.name for c in second.calls] == ["a", "b"]
    assert second.calls[1].args == {"k": "{text}"}


def test_load_script_reads_yaml_and_reports_bad_files(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text('- match: "weather in (?P<city>\\\\w+)"\n  say: "It is sunny in {city}."\n')
    (rule,) = load_script(good)
    assert rule.pattern.search("Weather in Paris").group("city") == "Paris"

    bad = tmp_path / "bad.yaml"
    bad.write_text("- say: ok\n- match: x\n  colse: {code: 1011}\n")
    with pytest.raises(ScriptError, match=r"bad\.yaml: rule 2: unknown key\(s\) colse"):
        load_script(bad)

    broken = tmp_path / "broken.yaml"
    broken.write_text("- say: [unclosed\n")
    with pytest.raises(ScriptError, match="is not valid YAML"):
        load_script(broken)

    with pytest.raises(ScriptError, match="cannot read script"):
        load_script(tmp_path / "missing.yaml")


# ---------------------------------------------------------------------- choose()

def test_first_matching_rule_wins():
    rules = parse_rules([
        {"match": "weather", "say": "weather rule"},
        {"match": "weather in paris", "say": "paris rule"},
        {"say": "fallback"},
    ])
    rule, _ = choose(rules, "the weather in Paris")
    assert rule.say == "weather rule"
    rule, _ = choose(rules, "anything else")
    assert rule.say == "fallback"


def test_match_is_a_case_insensitive_search():
    rules = parse_rules([{"match": "hello", "say": "hi"}])
    assert choose(rules, "Well, HeLLo there!") is not None
    assert choose(rules, "goodbye") is None
    anchored = parse_rules([{"match": "^hello$", "say": "hi"}])
    assert choose(anchored, "HELLO") is not None
    assert choose(anchored, "hello you") is None


def test_named_and_numbered_groups_become_values():
    rules = parse_rules([{"match": r"weather in (?P<city>\w+)(?: on (\w+))?", "say": "x"}])
    _, values = choose(rules, "What's the weather in Paris?")
    assert values["city"] == "Paris"
    assert values["g1"] == "Paris" and values["g2"] == ""  # unmatched optional group
    assert values["text"] == "What's the weather in Paris?"


def test_times_limits_how_often_a_rule_answers():
    rules = parse_rules([
        {"match": "hi", "say": "first time", "times": 2},
        {"say": "after that"},
    ])
    said = [choose(rules, "hi")[0].say for _ in range(4)]
    assert said == ["first time", "first time", "after that", "after that"]
    # a rule used up does not count against other texts either
    assert choose(rules, "hi there")[0].say == "after that"


def test_times_counts_only_matching_turns():
    rules = parse_rules([{"match": "yes", "say": "Y", "times": 1}, {"say": "N"}])
    assert choose(rules, "no")[0].say == "N"
    assert choose(rules, "yes")[0].say == "Y"
    assert choose(rules, "yes")[0].say == "N"


# ---------------------------------------------------------------------- render()

def test_render_text_and_named_groups():
    assert render("You said: {text}", {"text": "hi"}) == "You said: hi"
    assert render("It is sunny in {city}.", {"city": "Oslo"}) == "It is sunny in Oslo."


def test_render_tool_results():
    values = {"city": "Paris", "result": {"summary": "sunny", "temp": 21},
              "results": {"get_weather": {"summary": "sunny"}}}
    assert render("It is {result[summary]} ({result[temp]}°) in {city}.", values) == (
        "It is sunny (21°) in Paris.")
    assert render("{results[get_weather][summary]}", values) == "sunny"


@pytest.mark.parametrize("template,expected", [
    ("Hi {nobody}!", "Hi {nobody}!"),
    ("{result[missing]}", "{result[missing]}"),
    ("{nothing[summary]}", "{nothing[summary]}"),
    ("{text} and {typo}", "hello and {typo}"),
    ("unbalanced {text", "unbalanced {text"),
    ("a } b", "a } b"),
    ("{{literal}} {text}", "{literal} hello"),
])
def test_render_leaves_unknown_placeholders_as_they_are(template, expected):
    values = {"text": "hello", "result": {"summary": "sunny"}}
    assert render(template, values) == expected


def test_render_args_renders_nested_strings_only():
    args = {"city": "{city}", "n": 3, "list": ["{city}", True], "nested": {"q": "{text}"}}
    assert render_args(args, {"city": "Rome", "text": "t"}) == {
        "city": "Rome", "n": 3, "list": ["Rome", True], "nested": {"q": "t"}}


# ---------------------------------------------------------------------- chunks()

SENTENCE = "The quick brown fox jumps over the lazy dog and keeps running far away."


@pytest.mark.parametrize("size", [8, 10, 17, 40])  # every word + its space fits in size
def test_chunks_split_on_word_boundaries_and_rejoin(size):
    parts = chunks(SENTENCE, size)
    assert "".join(parts) == SENTENCE
    assert len(parts) > 1
    assert all(0 < len(p) <= size for p in parts)
    for p in parts[:-1]:  # every cut falls just after a space: no word is split
        assert p.endswith(" ") and not p.startswith(" ")
    assert [w for p in parts for w in p.split()] == SENTENCE.split()


def test_chunks_cut_words_longer_than_a_chunk():
    text = "a" * 25 + " end"
    parts = chunks(text, 10)
    assert "".join(parts) == text
    assert all(len(p) <= 10 for p in parts)


@pytest.mark.parametrize("text,size", [("short", 40), ("whole reply", 0), ("", 10)])
def test_chunks_whole_text(text, size):
    assert chunks(text, size) == [text]


@pytest.mark.parametrize("rule,why", [
    ({"say": "x", "turn_complete_reason": "BORED"}, "turn_complete_reason must be one of"),
    ({"say": "x", "waiting_for_input": "yes"}, "waiting_for_input must be true or false"),
    ({"say": "x", "grounding": ["a"]}, "'grounding' must be a mapping"),
    ({"send": []}, "'send' must be a server message"),
    ({"send": "text"}, "'send' must be a server message"),
])
def test_turn_keys_are_checked_when_the_script_loads(rule, why):
    with pytest.raises(ScriptError, match=why):
        parse_rules([rule])


def test_a_rule_may_only_send_raw_messages_or_think():
    rules = parse_rules([{"send": {"serverContent": {"turnComplete": True}}},
                         {"thought": "hmm"}])
    assert rules[0].send == [{"serverContent": {"turnComplete": True}}]
    assert rules[1].thought == "hmm" and rules[1].say is None
