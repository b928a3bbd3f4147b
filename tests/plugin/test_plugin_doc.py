"""docs/pytest-plugin.md: every Python block runs, in order, in one namespace (as a reader
pastes them), and its tests do what the page says: the tanh test passes, the two tests of the
squeezed layer fail, at batch 1."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "pytest-plugin.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[str]:
    return BLOCK.findall(PAGE.read_text())


@pytest.fixture
def quiet_hypothesis():
    """Hypothesis without its database (the page's tests would write .hypothesis/ into the
    checkout) and with a fixed search, for this test only."""
    name = getattr(settings, "get_current_profile_name", lambda: None)() or getattr(
        settings, "_current_profile", None) or "default"
    settings.register_profile("handgrad-doc-page", database=None, derandomize=True)
    settings.load_profile("handgrad-doc-page")
    yield
    settings.load_profile(name)


def test_the_page_has_its_blocks():
    assert len(blocks()) == 4  # the fixture test, the layer, the search, the kept example


@pytest.mark.slow  # three Hypothesis searches, each example a gradient check
def test_every_python_block_runs_and_its_tests_say_what_the_page_says(quiet_hypothesis,
                                                                         capsys):
    namespace = {"__name__": "pytest_plugin_page"}
    for number, code in enumerate(blocks()):
        exec(compile(code, f"{PAGE.name} block {number}", "exec"), namespace)
    assert "LayerCase(batch=1, width=2, scale=0.001, seed=0)" in capsys.readouterr().out
    namespace["test_my_tanh"](np.random.default_rng(0))  # passes
    for name in ("test_add_batch_mean", "test_add_batch_mean_again"):
        with pytest.raises(AssertionError, match="gradient check FAILED") as info:
            namespace[name]()
        assert info.value.report.case.inputs["x"].shape == (1, 2), name
