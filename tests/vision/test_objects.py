"""COCO objects with CenterNet (converted from @vladmandic/human's TFJS graph at install time):
real photos that scikit-image ships, positions, the NumPy decoding, and what happens when
the model is missing or damaged."""

import io
import json
import logging
import tarfile

import numpy as np
import pytest
from images import jpeg, photo, plain, sign
from PIL import Image

from openlive.engines.vision import models as vm
from openlive.engines.vision.analyser import FrameAnalyser
from openlive.engines.vision.objects import COCO_LABELS, STRIDE, decode
from openlive.engines.vision.objects_install import InstallError, read_model_files
from openlive.engines.vision.tfjs_onnx import CONVERTER_VERSION


def test_the_objects_model_is_installed():
    # make install-dev runs objects_install; the tests must fail, not skip, without it
    path = vm.objects_model_path(converter=CONVERTER_VERSION)
    meta = json.loads(path.with_name(path.name + ".json").read_text())
    assert meta["source"] == vm.HUMAN_NPM and meta["files"] == vm.CENTERNET_FILES


@pytest.mark.parametrize(("name", "label"), [
    ("chelsea.png", "cat"), ("coffee.png", "cup"), ("astronaut.png", "person"),
    ("camera.png", "person"), ("horse.png", "horse"), ("motorcycle_left.png", "motorcycle"),
])
def test_the_main_subject_of_a_real_photo_is_named(analyser, name, label):
    desc = analyser.analyse(jpeg(photo(name)), received_at=0.0)
    labels = [f.label for f in desc.objects]
    assert labels[:1] == [label], desc.objects
    assert label in desc.object_words and label in desc.summary()


@pytest.mark.parametrize("frame", ["rocket.jpg", "text.png", "wall", "sign"])
def test_no_objects_where_there_are_none(analyser, frame):
    image = {"wall": lambda: plain((30, 60, 200)),
             "sign": lambda: sign("PLATFORM 9")}.get(frame, lambda: photo(frame))()
    assert analyser.analyse(jpeg(image), received_at=0.0).objects == []


@pytest.mark.parametrize(("x", "where"), [(0, "on the left"), (1, "on the right")])
def test_an_objects_rough_position(analyser, x, where):
    cat = photo("chelsea.png")
    scene = Image.new("RGB", (cat.width * 3, cat.height), (128, 128, 128))
    scene.paste(cat, (x * 2 * cat.width, 0))
    desc = analyser.analyse(jpeg(scene), received_at=0.0, size=1024)
    cats = [f for f in desc.objects if f.label == "cat"]
    assert [f.where for f in cats] == [where]
    assert f"a cat {where}" in desc.for_prompt(now=0.0)


def test_people_are_counted_once(analyser):
    desc = analyser.analyse(jpeg(photo("astronaut.png")), received_at=0.0)
    assert len(desc.people) == 1 and [f.label for f in desc.objects] == ["person"]
    assert desc.object_words == "one face in the middle, a person in the middle"


def test_decoding_picks_peaks_above_the_threshold():
    heat = np.zeros((128, 128, 80), np.float32)
    wh = np.zeros((128, 128, 4), np.float32)
    heat[10, 20, 16] = 0.9  # a dog at x=20, y=10
    heat[10, 21, 16] = 0.8  # its neighbour: not a peak
    wh[10, 20] = [8, 4, 12, 6]
    heat[100, 50, 41] = 0.5  # a cup
    heat[60, 60, 2] = 0.2  # below the threshold
    found = decode(heat, wh, min_score=0.4)
    assert [(COCO_LABELS[c], round(s, 2)) for c, s, _ in found] == [("dog", 0.9), ("cup", 0.5)]
    x, y = 20 * STRIDE, 10 * STRIDE
    assert found[0][2].tolist() == [x - 8, y - 4, x + 12, y + 6]
    assert decode(heat, wh, min_score=0.95) == []


def test_overlapping_boxes_of_one_kind_are_one_object():
    heat = np.zeros((128, 128, 80), np.float32)
    wh = np.full((128, 128, 4), 40, np.float32)
    heat[50, 50, 15], heat[50, 53, 15], heat[50, 53, 16] = 0.9, 0.7, 0.6
    found = decode(heat, wh)
    assert [COCO_LABELS[c] for c, _, _ in found] == ["cat", "dog"]


def test_a_missing_model_leaves_the_other_stages_working(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("OPENLIVE_VISION_MODELS", str(tmp_path))
    with pytest.raises(vm.ModelNotFound, match=r"@vladmandic/human@3\.3\.6.*objects_install"):
        vm.objects_model_path()
    analyser = FrameAnalyser(stages=["ocr", "objects"])
    with caplog.at_level(logging.WARNING, logger="openlive.vision"):
        analyser.load()
        for _ in range(2):
            desc = analyser.analyse(jpeg(sign("EXIT")), received_at=0.0)
            assert "EXIT" in desc.ocr.upper() and desc.objects == []
    warnings = [r.getMessage() for r in caplog.records if "objects" in r.getMessage()]
    assert len(warnings) == 1 and "objects_install" in warnings[0]


def test_a_damaged_model_names_the_package_and_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENLIVE_MODEL_CACHE", str(tmp_path / "cache"))
    path = vm.objects_model_path()
    copy = tmp_path / "models"
    copy.mkdir()
    data = bytearray(path.read_bytes())
    data[5000:5004] = b"\0\0\0\0"
    (copy / vm.CENTERNET_ONNX).write_bytes(bytes(data))
    meta = path.with_name(path.name + ".json")
    (copy / meta.name).write_bytes(meta.read_bytes())
    with pytest.raises(vm.ModelCorrupt, match=r"SHA-256.*objects_install --force"):
        vm.objects_model_path(copy)
    meta_json = json.loads(meta.read_text())
    (copy / meta.name).write_text(json.dumps({**meta_json, "converter": 0}))
    with pytest.raises(vm.ModelCorrupt, match="converter 0"):
        vm.objects_model_path(copy, converter=CONVERTER_VERSION)


def test_the_installer_checks_the_npm_files(tmp_path):
    tgz = tmp_path / "human.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        for rel in vm.CENTERNET_FILES:
            info = tarfile.TarInfo(f"package/{rel}")
            info.size = 4
            tar.addfile(info, io.BytesIO(b"fake"))
    with pytest.raises(InstallError, match=r"centernet\.json failed its SHA-256 check"):
        read_model_files(tgz)
    empty = tmp_path / "empty.tgz"
    with tarfile.open(empty, "w:gz"):
        pass
    with pytest.raises(InstallError, match=r"no package/models/centernet\.json"):
        read_model_files(empty)
