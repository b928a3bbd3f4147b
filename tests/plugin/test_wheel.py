"""A wheel that works: built from the repository, installed (not editable) into a fresh venv,
then ``handgrad verify``, ``handgrad train`` and ``handgrad derive`` run from a folder outside
the repository, and the pytest plugin loads there.

Slow (4-5 minutes on 2 cores: a venv, torch from the local wheel, the other dependencies
from pip's cache; each step's time is printed, ``pytest -s`` shows them). It runs where
``HANDGRAD_WHEEL_CHECK=1``, which ``.ci/run`` sets for it in a step of its own, after the test
command; elsewhere it skips and says so, so that the README's test command stays within its
three minutes. The source is copied to a scratch
folder first, so the build's ``build/`` and ``*.egg-info`` land there and not in the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.plugin.scratch import CLEAN_ENV, write_project

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
TORCH = "torch==2.13.0"  # the release CI installs: pip takes the local CPU wheel
TINY_TEST = """
    import numpy as np
    import torch

    from handgrad import assert_layer_match


    def test_tanh(handgrad_rng, handgrad_seed):
        x = handgrad_rng.standard_normal((3, 4))
        witness = np.random.default_rng(handgrad_seed).standard_normal((3, 4))
        np.testing.assert_array_equal(x, witness)
        assert_layer_match(lambda x: (np.tanh(x), x), lambda d, x: d * (1 - np.tanh(x) ** 2),
                           {"x": x}, torch.tanh)
"""


def step(what: str, argv: list, cwd: Path, timeout: float = 600) -> str:
    """Run ``argv`` in ``cwd``, print how long it took; its stdout (fails on exit != 0)."""
    start = time.perf_counter()
    run = subprocess.run([str(a) for a in argv], cwd=cwd, env=CLEAN_ENV, capture_output=True,
                         text=True, timeout=timeout)
    print(f"{what}: {time.perf_counter() - start:.1f} s")
    assert run.returncode == 0, f"{what}: exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    return run.stdout


def copy_source(target: Path) -> Path:
    """pyproject.toml, the README and the folders package-dir maps into handgrad."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = set(project["tool"]["setuptools"]["package-dir"].values())
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    for folder in folders:
        shutil.copytree(ROOT / folder, target / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return target


def top_level_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name.split("/")[0] for name in archive.namelist()}


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("HANDGRAD_WHEEL_CHECK") != "1",
                    reason="builds and installs a wheel in a fresh venv (4-5 min): "
                           "HANDGRAD_WHEEL_CHECK=1 runs it, as .ci/run does")
def test_the_wheel_installed_outside_the_repository_runs_the_commands(tmp_path):
    source = copy_source(tmp_path / "source")
    venv = tmp_path / "venv"
    step("venv", [sys.executable, "-m", "venv", venv], tmp_path)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q"]
    step("pip install torch", [*pip, TORCH], tmp_path)
    step("pip wheel", [venv / "bin" / "python", "-m", "pip", "wheel", "-q", "--no-deps",
                       "-w", tmp_path / "dist", source], tmp_path)
    wheel = next((tmp_path / "dist").glob("handgrad-*.whl"))
    assert top_level_names(wheel) == {"handgrad", wheel.name.split("-py3")[0] + ".dist-info"}
    step("pip install the wheel and pytest", [*pip, wheel, "pytest"], tmp_path)

    outside = write_project(tmp_path / "elsewhere", {"test_tiny.py": TINY_TEST})
    handgrad = venv / "bin" / "handgrad"
    out = step("handgrad verify", [handgrad, "verify", "--quiet"], outside)
    assert " 0 failed" in out
    step("handgrad train", [handgrad, "train", "--epochs", "3", "--no-gif", "--out", "run"],
         outside)
    assert (outside / "run" / "run.json").is_file()
    out = step("handgrad derive", [handgrad, "derive", "xor"], outside)
    assert "largest difference over all" in out
    out = step("pytest with the plugin", [venv / "bin" / "python", "-m", "pytest", "-p",
                                          "no:cacheprovider", "test_tiny.py"], outside)
    assert "plugins: handgrad-" in out and "1 passed" in out
    installed = step("where handgrad is imported from", [
        venv / "bin" / "python", "-c", "import handgrad.handmade.mlp as m; print(m.__file__)"],
        outside)
    assert installed.startswith(str(venv)) and "site-packages" in installed
