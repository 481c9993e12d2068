"""The first spoken clause of a reply ends after a few words when no punctuation ends it."""

from __future__ import annotations

from openlive.engines.audio.tts import ClauseSplitter


def feed_tokens(s: ClauseSplitter, text: str) -> list[str]:
    out: list[str] = []
    for i, word in enumerate(text.split(" ")):  # streamed as an LLM would: " word"
        out += s.feed(word if i == 0 else " " + word)
    return out + s.flush()


def test_a_long_first_sentence_is_cut_after_its_first_words():
    s = ClauseSplitter(first_soft_min_chars=1, first_max_words=6)
    assert feed_tokens(s, "The distance from the earth to the moon is about 384,400 km. "
                          "It varies a little over the month.") == [
        "The distance from the earth to", "the moon is about 384,400 km.",
        "It varies a little over the month."]  # only the first clause is cut short


def test_short_first_sentences_and_commas_are_unchanged():
    s = ClauseSplitter(first_soft_min_chars=1, first_max_words=6)
    assert feed_tokens(s, "The capital of Australia is Canberra.") == [
        "The capital of Australia is Canberra."]
    s = ClauseSplitter(first_soft_min_chars=1, first_max_words=6)
    assert feed_tokens(s, "Sure, I can help with that.") == ["Sure,", "I can help with that."]
    # a word is complete only once the space after it has arrived
    s = ClauseSplitter(first_max_words=2)
    assert s.feed("Hello wor") == [] and s.feed("ld") == [] and s.feed(" again") == [
        "Hello world"]
