"""docs/verify-your-own-code.md runs as written: its python blocks are one pytest file.

Run in a fresh pytest process, as a user runs them, with handgrad's plugin loaded from its
entry point: the examples pass; a failing check prints the report table and its seed, and
``--handgrad-seed`` with that seed replays it while the examples pass under that seed too.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "verify-your-own-code.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)

FORGOT_MASK = '''

def test_two_layer_net_without_relu_mask(handgrad_rng):
    net = TwoLayerNet(D=4, H=6, C=3, rng=handgrad_rng)
    X, y = handgrad_rng.standard_normal((5, 4)), handgrad_rng.integers(0, 3, 5)
    right = net.loss

    def no_mask(X, y):
        value, grads = right(X, y)
        p = net.params
        h_pre = X @ p["W1"] + p["b1"]
        scores = np.maximum(h_pre, 0) @ p["W2"] + p["b2"]
        d = np.exp(scores - scores.max(axis=1, keepdims=True))
        d /= d.sum(axis=1, keepdims=True)
        d[np.arange(len(X)), y] -= 1
        dh_pre = (d / len(X)) @ p["W2"].T  # the ReLU mask (h_pre > 0) forgotten
        return value, {**grads, "W1": X.T @ dh_pre + REG * p["W1"], "b1": dh_pre.sum(axis=0)}

    assert_model_match(net.params, no_mask, X, y, torch_loss)
'''


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(folder), *args], capture_output=True, text=True, timeout=300,
                          cwd=folder)


@pytest.fixture
def doc_tests(tmp_path):
    assert len(BLOCKS) == 3, "the page has three examples"
    for i, block in enumerate(BLOCKS):  # each block is a complete file of its own
        (tmp_path / f"test_doc_example_{i}.py").write_text(block)
    return tmp_path


def test_the_examples_pass_as_written(doc_tests):
    result = run_pytest(doc_tests)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_a_failure_shows_the_table_and_the_seed(doc_tests):
    path = doc_tests / "test_doc_example_0.py"
    path.write_text(path.read_text() + FORGOT_MASK)
    result = run_pytest(doc_tests, "-k", "without_relu_mask")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "gradient check FAILED" in out and "gradients that disagree: ['W1', 'b1']" in out
    seed = re.search(r"handgrad_rng seed (\d+): replay with .*--handgrad-seed \1", out)
    assert seed, out
    # every test of the folder under the given seed: the failure replays (same seed line),
    # and the three examples pass under a seed other than their own
    again = run_pytest(doc_tests, "--handgrad-seed", seed[1])
    assert f"handgrad_rng seed {seed[1]}:" in again.stdout and again.returncode == 1
    assert "1 failed, 3 passed" in again.stdout, again.stdout
