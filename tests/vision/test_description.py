"""How a description is worded for the LLM (what detectors found, never full sight) and for
emulator scripts."""

from openlive.engines.vision.description import Description, Found


def test_prompt_wording_is_honest_and_dated():
    d = Description(received_at=10.0, width=640, height=480, text=["NO PARKING"],
                    qr=["https://example.org"], colours=["red", "grey"],
                    faces=[Found("face", "on the left")], people=[Found("person")],
                    hands=[Found("raised hand")])
    words = d.for_prompt(now=14.2)
    assert "You cannot see it yourself" in words
    assert "4 seconds ago" in words
    assert '"NO PARKING"' in words and "https://example.org" in words
    assert "one face on the left, one person, one raised hand" in words
    assert "say so if it does not tell" in words


def test_nothing_found_is_said_plainly():
    d = Description(received_at=0.0, width=640, height=480)
    assert d.summary() == "nothing recognised"
    words = d.for_prompt(now=0.5)
    assert "just now" in words and "text read: none" in words
    assert "objects and people: none detected" in words


def test_a_vision_models_caption_is_attributed():
    d = Description(received_at=0.0, width=1, height=1, source="vision model at http://x/v1",
                    caption="A cat on a sofa.")
    assert "a separate vision model looked at the latest frame, taken just now, and said: " \
        "A cat on a sofa." in d.for_prompt(now=0.0)
    assert d.summary() == "A cat on a sofa."


def test_summary_joins_every_finding():
    d = Description(received_at=0.0, width=1, height=1, text=["EXIT"], qr=["abc"],
                    objects=[Found("cup", "on the right")], colours=["green"])
    assert d.summary() == "text: EXIT; QR code: abc; objects: a cup on the right; colours: green"
    assert (d.ocr, d.qr_text, d.object_words) == ("EXIT", "abc", "a cup on the right")


def test_objects_are_grouped_by_kind_and_people_counted_once():
    d = Description(received_at=0.0, width=1, height=1, faces=[Found("face", "on the left")],
                    people=[Found("person")],
                    objects=[Found("person", "on the left"), Found("umbrella", "on the left"),
                             Found("person", "on the right"), Found("chair", "in the middle"),
                             Found("chair", "in the middle")])
    assert d.object_words == ("one face on the left, 2 people (on the left, on the right), "
                              "an umbrella on the left, 2 chairs (in the middle)")
    no_person = Description(received_at=0.0, width=1, height=1, people=[Found("person")],
                            objects=[Found("cat", "on the right")])
    assert no_person.object_words == "one person, a cat on the right"
