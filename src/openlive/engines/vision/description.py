"""What one video frame was seen to hold: plain data, with words for an LLM and for scripts.

A :class:`Description` says only what a detector found (text read, QR contents, objects,
faces, raised hands, people, dominant colours): :meth:`Description.for_prompt` words it as
that, never as full sight, and names the frame's age.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Found:
    """One detected thing with a rough position ("on the left", "in the middle"…)."""

    label: str
    where: str = ""
    score: float = 1.0

    def words(self) -> str:
        return f"{self.label} {self.where}".strip()


@dataclass(frozen=True)
class Description:
    """One analysed frame. ``received_at`` is when the frame arrived (the caller's clock,
    e.g. ``time.monotonic()``); ``timings`` is seconds per stage."""

    received_at: float
    width: int
    height: int
    analysed_size: tuple[int, int] = (0, 0)
    text: list[str] = field(default_factory=list)  # OCR lines, top to bottom
    qr: list[str] = field(default_factory=list)
    colours: list[str] = field(default_factory=list)  # dominant first
    objects: list[Found] = field(default_factory=list)
    faces: list[Found] = field(default_factory=list)
    hands: list[Found] = field(default_factory=list)  # raised hands
    people: list[Found] = field(default_factory=list)  # bodies (pose)
    skipped: list[str] = field(default_factory=list)  # stages not run, with the reason
    timings: dict[str, float] = field(default_factory=dict)
    source: str = "detectors"  # or "vision model at <url>" (its answer is the ``caption``)
    caption: str = ""

    def age(self, now: float) -> float:
        return max(0.0, now - self.received_at)

    @property
    def ocr(self) -> str:
        return " / ".join(self.text)

    @property
    def qr_text(self) -> str:
        return " / ".join(self.qr)

    @property
    def object_words(self) -> str:
        """Objects and people together ("one face in the middle, a person in the middle, a
        cup on the left, 2 chairs (on the left, on the right)"). When the object detector
        found people, their boxes stand for the pose's person count."""
        person_objects = any(f.label == "person" for f in self.objects)
        things = [*self.people_words(count_people=not person_objects),
                  *_grouped(self.objects)]
        return ", ".join(things)

    def people_words(self, count_people: bool = True) -> list[str]:
        out = []
        if self.faces:
            n = len(self.faces)
            where = self.faces[0].where if n == 1 else ""
            out.append(f"{_count(n, 'face')} {where}".strip())
        if self.people and count_people:
            out.append(_count(len(self.people), "person", "people"))
        if self.hands:
            out.append(f"{_count(len(self.hands), 'raised hand')}")
        return out

    def summary(self) -> str:
        """One line of everything found (the emulator's ``{seen}`` and ``seen:`` text)."""
        parts = []
        if self.caption:
            parts.append(self.caption)
        if self.text:
            parts.append(f"text: {self.ocr}")
        if self.qr:
            parts.append(f"QR code: {self.qr_text}")
        if self.object_words:
            parts.append(f"objects: {self.object_words}")
        if self.colours:
            parts.append(f"colours: {', '.join(self.colours)}")
        return "; ".join(parts) if parts else "nothing recognised"

    def for_prompt(self, now: float) -> str:
        """The description as the LLM reads it: what the detectors found, honestly worded."""
        age = self.age(now)
        when = "just now" if age < 1.5 else f"{age:.0f} seconds ago"
        if self.caption:
            return (f"(The user's camera or screen is on. You cannot see it yourself: a "
                    f"separate vision model looked at the latest frame, taken {when}, and "
                    f"said: {self.caption})")
        lines = [f"(The user's camera or screen is on. You cannot see it yourself: automatic "
                 f"detectors looked at the latest frame, taken {when}, and found only this:"]
        lines.append(f"- text read: {_quoted(self.text)}" if self.text
                     else "- text read: none")
        if self.qr:
            lines.append(f"- QR code contents: {_quoted(self.qr)}")
        things = self.object_words
        lines.append(f"- objects and people: {things}" if things
                     else "- objects and people: none detected")
        if self.colours:
            lines.append(f"- main colours: {', '.join(self.colours)}")
        if self.skipped:
            lines.append(f"- not checked: {'; '.join(self.skipped)}")
        lines.append("Answer from this list; say so if it does not tell.)")
        return "\n".join(lines)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"one {one}" if n == 1 else f"{n} {many or one + 's'}"


_PLURAL = {"person": "people", "bus": "buses", "couch": "couches", "mouse": "mice",
           "knife": "knives", "skis": "pairs of skis", "scissors": "pairs of scissors",
           "sheep": "sheep", "wine glass": "wine glasses", "sandwich": "sandwiches",
           "toothbrush": "toothbrushes", "hair drier": "hair driers", "bench": "benches"}


def _grouped(objects: list[Found]) -> list[str]:
    """One phrase per kind, in order of first appearance: "a cup on the left" for one,
    "2 people (on the left, in the middle)" for several."""
    kinds: dict[str, list[Found]] = {}
    for f in objects:
        kinds.setdefault(f.label, []).append(f)
    out = []
    for label, found in kinds.items():
        if len(found) == 1:
            article = "an" if label[:1] in "aeiou" else "a"
            out.append(f"{article} {found[0].words()}")
            continue
        many = _PLURAL.get(label, label + "s")
        places = ", ".join(dict.fromkeys(f.where for f in found if f.where))
        out.append(f"{len(found)} {many}" + (f" ({places})" if places else ""))
    return out


def _quoted(items: list[str]) -> str:
    return ", ".join(f'"{t}"' for t in items)
