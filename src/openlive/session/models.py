"""Live models as data: one profile per model, with the source of each fact.

The session core applies these profiles (which names a setup may use, the model's token
limits, its function-call default, the setup fields it refuses); ``GET /{version}/models``
lists them. Adding a model or a fact means editing this table and a test, not code paths.

Sources (named in each profile's ``sources``):

* ``doc:3.8-live`` — ai.google.dev/gemini-api/docs/models/gemini-3.8-live (Sept. 2026):
  input 131,072 / output 65,536 tokens; migration notes from gemini-3.1-flash-live-preview:
  AUDIO replies only, no ``thinking_level``, NON_BLOCKING the default function behaviour,
  ``proactive_audio: false`` "returns an error", affective dialog removed, default
  ``turnCoverage`` TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO.
* ``doc:deprecations`` — ai.google.dev/gemini-api/docs/deprecations: gemini-2.0-flash-live-001
  and gemini-live-2.5-flash-preview shut down 2025-12-09 (spec/protocol.md §8); the old ids
  then give 1008 "not found" (livekit/agents#4414).
* ``doc:live-guide`` — ai.google.dev/gemini-api/docs/live (native-audio models, 128k context,
  spec/protocol.md §5, §8).
* ``doc:3.1-live`` — ai.google.dev/gemini-api/docs/models/gemini-3.1-flash-live-preview
  (March 2026), migration notes from 2.5: "a single BidiGenerateContentServerContent event
  can now contain multiple content parts at the same time (e.g. audio chunks and
  transcription)"; ``thinkingLevel`` (default minimal) instead of ``thinkingBudget``; default
  ``turnCoverage`` TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO; asynchronous function calling
  "not yet supported"; proactive audio and affective dialog "not yet supported".
* ``spec:§0`` — spec/protocol.md §0 (2026-11-27 update).
* ``obs:text-refused`` — TEXT replies on native-audio models close with 1007 "Cannot extract
  voices from a non-audio request." (livekit/livekit#4103, kizuna-ai-lab/sokuji#93,
  jsalsman/gemini-live#2); on gemini-3.1-flash-live-preview with 1011 "Internal error
  encountered." (googleapis/python-genai#2238).

The core applies: which names a setup may use, the allowed and default reply modality
(:func:`modality_refusal`), the refused setup fields (:func:`refused_fields`), the default
function behaviour, the token limits and several parts per event. ``default_turn_coverage``
is data the local engine reads. :class:`ModelCatalog` ``permissive`` turns the refusals off
(``openlive serve --permissive``), for teams mid-migration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["ga", "preview", "legacy", "shut_down", "experimental"]

#: A setup field that a model refuses (dotted camelCase path) and why, with its source.
Refusal = tuple[str, str]


@dataclass(frozen=True)
class ModelProfile:
    name: str  # the bare model id, e.g. "gemini-3.8-live"
    status: Status
    sources: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    status_date: str | None = None  # GA / shut-down date, ISO
    input_token_limit: int = 131_072
    output_token_limit: int = 8_192
    # every Live model on the Developer API answers in AUDIO only (spec:§0, doc:3.8-live)
    response_modalities: tuple[str, ...] = ("AUDIO",)  # allowed
    default_modality: str = "AUDIO"
    # How a setup asking for a modality the model does not allow is closed (obs:text-refused)
    modality_refused: tuple[int, str] = (1007, "Cannot extract voices from a non-audio request.")
    function_behavior: str = "BLOCKING"  # when a declaration names none
    refuses: tuple[Refusal, ...] = ()  # setup fields this model refuses
    default_turn_coverage: str = "TURN_INCLUDES_ONLY_ACTIVITY"
    multi_part_events: bool = False
    # interactionStatus on every turnComplete (extended thinking: spec:§0, google-genai
    # 3.6.1 LiveServerContent "always sent alongside turn_complete")
    interaction_status: bool = False
    notes: str = ""

    @property
    def served(self) -> bool:
        return self.status != "shut_down"


_REFUSED_BY_3_8: tuple[Refusal, ...] = (
    ("generationConfig.thinkingConfig.thinkingLevel",
     "thinking_level is not supported by this model; omit thinkingConfig"),
    ("proactivity.proactiveAudio=false",
     "proactive audio is always on for this model; proactiveAudio: false is an error"),
    ("generationConfig.enableAffectiveDialog",
     "affective dialog was removed for this model; remove enableAffectiveDialog"),
)

PROFILES: tuple[ModelProfile, ...] = (
    ModelProfile(
        "gemini-2.5-flash-native-audio-preview-12-2025", "preview",
        ("doc:live-guide", "doc:deprecations", "spec:§0", "obs:text-refused"),
        notes="the main docs model before 3.x; refuses TEXT replies (spec:§0)"),
    ModelProfile(
        "gemini-2.5-flash-native-audio-preview-09-2025", "preview",
        ("doc:live-guide", "obs:text-refused")),
    ModelProfile(
        "gemini-2.5-flash-native-audio-latest", "preview", ("doc:live-guide", "obs:text-refused"),
        notes="an alias of the newest 2.5 native-audio preview"),
    ModelProfile(
        "gemini-3.1-flash-live-preview", "legacy",
        ("spec:§0", "doc:3.8-live", "doc:3.1-live", "obs:text-refused"),
        output_token_limit=65_536, multi_part_events=True,
        modality_refused=(1011, "Internal error encountered."),
        default_turn_coverage="TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",
        notes="legacy since gemini-3.8-live (2026-09)"),
    ModelProfile(
        "gemini-3.8-live", "ga", ("doc:3.8-live",), status_date="2026-09",
        output_token_limit=65_536, function_behavior="NON_BLOCKING", refuses=_REFUSED_BY_3_8,
        default_turn_coverage="TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",
        multi_part_events=True, notes="the default Live model"),
    ModelProfile(
        "gemini-3.8-live-extended-thinking", "ga", ("spec:§0",),
        output_token_limit=65_536, function_behavior="NON_BLOCKING", refuses=_REFUSED_BY_3_8,
        default_turn_coverage="TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",
        multi_part_events=True, interaction_status=True,
        notes="Google documents its existence, not its rules: 3.8-live's are assumed"),
    ModelProfile(
        "gemini-2.0-flash-exp", "experimental", ("doc:live-guide",),
        input_token_limit=32_768, response_modalities=("AUDIO", "TEXT"),
        notes="an older experimental (half-cascade) name, still accepted; it answers in "
              "TEXT too (the guide's first TEXT examples used it)"),
    ModelProfile(
        "gemini-live-2.5-flash-preview", "shut_down", ("doc:deprecations",),
        status_date="2025-12-09"),
    ModelProfile(
        "gemini-2.0-flash-live-001", "shut_down", ("doc:deprecations",),
        status_date="2025-12-09"),
)

DEFAULT_MODEL = "gemini-3.8-live"

#: The models a server serves, as listed by ``GET /{version}/models``.
GEMINI_LIVE_MODELS = tuple(p.name for p in PROFILES if p.served)

_BY_NAME = {name: p for p in PROFILES for name in (p.name, *p.aliases)}


def modality_refusal(model: ModelProfile, modality: str | None) -> tuple[int, str] | None:
    """How the model refuses a setup asking for ``modality`` replies (None: it does not):
    every Live model on the Developer API answers in AUDIO only (doc:3.8-live "the supported
    response modality is audio", obs:text-refused); no modality means the default."""
    if (modality or model.default_modality) in model.response_modalities:
        return None
    return model.modality_refused


def refused_fields(model: ModelProfile, setup: dict) -> list[str]:
    """Why the model refuses this setup (a setup as camelCase JSON): one reason for each
    refused field it holds (``path`` present, or ``path=false`` holding false)."""
    why = []
    for path, reason in model.refuses:
        path, _, wanted = path.partition("=")
        value: object = setup
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and (not wanted or str(value).lower() == wanted):
            why.append(reason)
    return why


#: ListModels paging (ai.google.dev/api/models#method:-models.list): ``pageSize`` defaults
#: to 50, at most 1000; ``nextPageToken`` continues the listing.
PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000


def describe_model(name: str, served_by: str) -> dict:
    """One model as ``GET /{version}/models[/NAME]`` shows it (the Model resource)."""
    known = profile(name)
    return {
        "name": f"models/{name}",
        "version": "openlive",
        "displayName": name,
        "description": f"Served by openlive ({served_by} engine)",
        "inputTokenLimit": known.input_token_limit if known else 131_072,
        "outputTokenLimit": known.output_token_limit if known else 8_192,
        "supportedGenerationMethods": ["bidiGenerateContent"],
    }


def list_page(names: list[str], page_size: str | None, page_token: str | None
              ) -> tuple[list[str], str | None]:
    """One page of a listing and the token of the next (None: the last page). Raises
    ValueError for a page size or token that is not valid."""
    size = PAGE_SIZE if page_size in (None, "", "0") else int(page_size)
    if size < 0:
        raise ValueError("pageSize must not be negative")
    size = min(size, MAX_PAGE_SIZE)
    start = int(page_token) if page_token else 0
    if not 0 <= start <= len(names):
        raise ValueError("invalid pageToken")
    end = start + size
    return names[start:end], (str(end) if end < len(names) else None)


def profile(name: str) -> ModelProfile | None:
    """The profile of a model id (bare or ``models/…``), None if it is not in the table."""
    return _BY_NAME.get(_bare(name))


@dataclass
class ModelCatalog:
    """The model names this server serves: the table's, and the names an engine adds (the
    local engine's own models). Shut-down and unknown models are refused as Google refuses
    them (1008 "not found": doc:deprecations)."""

    extra_names: Iterable[str] = ()
    #: Per-model refusals off (``--permissive``): TEXT replies and refused setup fields
    #: are accepted; defaults (AUDIO, NON_BLOCKING...) still apply.
    permissive: bool = False
    extra: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.extra = tuple(_bare(n) for n in self.extra_names)

    def resolve(self, name: str) -> str | None:
        """The canonical ``models/NAME``, or None if this server does not serve it."""
        if not name.startswith("models/"):
            if "/" in name:  # tunedModels/…, projects/… (Vertex): not served here
                return None
            name = "models/" + name
        bare = name[len("models/"):]
        known = profile(bare)
        if bare in self.extra or (known is not None and known.served):
            return name
        return None

    def listed(self) -> list[str]:
        seen: dict[str, None] = dict.fromkeys((*self.extra, *GEMINI_LIVE_MODELS))
        return list(seen)


def _bare(name: str) -> str:
    return name[len("models/"):] if name.startswith("models/") else name
