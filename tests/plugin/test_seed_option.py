"""``--handgrad-seed``: an integer in [0, 2**63 - 1]; anything else is a usage error.

A usage error is pytest's exit code 4 and one line on stderr that names the option, before
any test runs (not a test ERROR with a traceback).
"""

from __future__ import annotations

import pytest

from handgrad.pytest_plugin import seed_option
from tests.plugin.scratch import run_pytest, write_project

BAD_SEEDS = {
    "negative": ("-5", "expected an integer in [0, 2**63 - 1], got -5"),
    "too large": (str(2**63), f"expected an integer in [0, 2**63 - 1], got {2**63}"),
    "not a number": ("abc", "expected a non-negative integer, got 'abc'"),
    "a float": ("1.5", "expected a non-negative integer, got '1.5'"),
}


@pytest.mark.parametrize("text, message", BAD_SEEDS.values(), ids=BAD_SEEDS.keys())
def test_a_bad_seed_is_refused_naming_the_option(text, message):
    with pytest.raises(pytest.UsageError) as info:
        seed_option(text)
    assert str(info.value) == f"--handgrad-seed: {message}"


@pytest.mark.parametrize("text, seed", [("0", 0), ("42", 42), (str(2**63 - 1), 2**63 - 1),
                                        (None, None)], ids=["zero", "small", "largest", "none"])
def test_a_good_seed_is_taken_as_given(text, seed):
    assert seed_option(text) == seed


@pytest.mark.slow
@pytest.mark.parametrize("text, message", BAD_SEEDS.values(), ids=BAD_SEEDS.keys())
def test_a_bad_seed_on_the_command_line_is_a_one_line_usage_error(tmp_path, text, message):
    write_project(tmp_path, {"test_one.py": "def test_one(handgrad_rng):\n    pass\n"})
    run = run_pytest(tmp_path, "-q", "--handgrad-seed", text)
    assert run.returncode == 4, run.stdout + run.stderr  # pytest's ExitCode.USAGE_ERROR
    assert run.stderr.strip().splitlines() == [f"ERROR: --handgrad-seed: {message}"]
    assert "passed" not in run.stdout and "Traceback" not in run.stdout


@pytest.mark.slow
def test_a_good_seed_on_the_command_line_seeds_the_rng(tmp_path):
    """The witness: NumPy's own generator from the same seed draws the same numbers."""
    write_project(tmp_path, {"test_one.py": """
        import numpy as np

        def test_one(handgrad_rng, handgrad_seed):
            assert handgrad_seed == 2**63 - 1
            expected = np.random.default_rng(2**63 - 1).standard_normal(3)
            np.testing.assert_array_equal(handgrad_rng.standard_normal(3), expected)
    """})
    run = run_pytest(tmp_path, "-q", f"--handgrad-seed={2**63 - 1}")
    assert run.returncode == 0, run.stdout + run.stderr
