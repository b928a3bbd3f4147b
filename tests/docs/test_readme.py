"""The README's commands and example are what the project really does."""

import re
from pathlib import Path

import numpy as np
import pytest

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_starts_with_the_two_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert len(first_block) == 2
    assert "handgrad verify" in first_block[0] and "pip install" in first_block[0]
    assert "pytest" in first_block[1]
    assert README.index("```bash") < README.index("## ")  # nothing before them but the title


def test_readme_example_runs_and_its_comments_hold():
    code = re.search(r"## Example\n\n```python\n(.*?)```", README, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README example", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["report"].ok
    assert namespace["model"].deltas[0].shape == (16, 8)
    assert "# ['layers.0.bias']" in code
    report = namespace["check_gradients"](
        namespace["MyMLP"]([4, 8, 3], ["tanh", "identity"], "cross_entropy"),
        namespace["X"], namespace["y"])
    assert report.failures == ["layers.0.bias"]
    assert isinstance(namespace["grads"]["layers.0.weight"], np.ndarray)


def test_readme_short_form_of_check_model_runs_and_can_fail():
    code = re.search(r"## What it is\n.*?```python\n(.*?)```", README, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README check_model example", "exec"), namespace)  # noqa: S102
    assert set(namespace["params"]) == {"W1", "b1", "W2", "b2"}  # it ran, and did not raise
    slipped = code.replace("* (h_pre > 0)", "")  # the ReLU mask forgotten
    assert slipped != code
    with pytest.raises(AssertionError, match=r"gradients that disagree: \['W1', 'b1'\]"):
        exec(compile(slipped, "README example, slipped", "exec"), {})  # noqa: S102
