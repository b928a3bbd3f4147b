"""``from handgrad import ...`` beside a user's own ``torch.py``: one line naming that file.

The plugin's fixtures already say it (tests/plugin/test_harmless.py); this is the import
itself, which a test module does at its top before any fixture runs. Without the check, the
user sees ``AttributeError: module 'torch' has no attribute 'float32'`` from deep inside.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.plugin.scratch import CLEAN_ENV


@pytest.mark.slow
@pytest.mark.parametrize("hidden", ["torch", "numpy"])
def test_importing_a_public_name_names_the_users_file(tmp_path, hidden):
    (tmp_path / f"{hidden}.py").write_text("x = 1\n")
    run = subprocess.run([sys.executable, "-c", "from handgrad import check_layer"],
                         cwd=tmp_path, env=CLEAN_ENV, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: handgrad needs the installed " + hidden)
    assert str(tmp_path / f"{hidden}.py") in last and "rename that file" in last


@pytest.mark.slow
def test_an_import_error_of_another_cause_is_left_as_it_is(tmp_path):
    run = subprocess.run([sys.executable, "-c", "from handgrad import nope"],
                         cwd=tmp_path, env=CLEAN_ENV, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1
    assert "cannot import name 'nope'" in run.stderr and "rename" not in run.stderr
