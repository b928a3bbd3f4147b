"""The "Layer objects" section of docs/verify-your-own-code.md runs as written.

Each of its code blocks is a complete script (imports included) that ends in
``assert_object_match``, and is executed as it stands. They are fenced ```` ```py ````, the
page's pytest files ```` ```python ```` (those are run by ``tests/docs/test_verify_doc.py``);
both render as Python. A planted slip in an example makes that example raise
``CheckFailed`` naming the entry, so an example that stopped checking anything could not
pass here unnoticed.
"""

import ast
import re
from pathlib import Path

import pytest

from handgrad.compare.check.report import CheckFailed

DOC = Path(__file__).resolve().parents[2] / "docs" / "verify-your-own-code.md"
SECTION = re.search(r"\n## Layer objects\n(.*?)(?=\n## )", DOC.read_text(), flags=re.S)
BLOCKS = re.findall(r"```py\n(.*?)```", SECTION[1] if SECTION else "", flags=re.S)
NAMES = ["a-dict-attributes", "b-nnfs", "c-get-parameters", "d-parallel-lists", "e-named",
         "loss"]


def run_block(source: str, name: str) -> None:
    """Execute ``source`` as a script of its own (a fresh namespace, as ``python file.py``)."""
    exec(compile(source, f"{DOC.name}[{name}]", "exec"), {"__name__": "__main__"})


def test_the_section_has_one_example_per_convention_and_a_loss():
    assert SECTION, f"no '## Layer objects' section in {DOC.name}"
    assert len(BLOCKS) == len(NAMES), f"{len(BLOCKS)} ```py blocks; expected {NAMES}"


@pytest.mark.parametrize("block", BLOCKS, ids=NAMES)
def test_each_example_ends_in_assert_object_match(block):
    last = ast.parse(block).body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
    assert getattr(last.value.func, "id", None) == "assert_object_match"


@pytest.mark.parametrize("name, block", list(zip(NAMES, BLOCKS)), ids=NAMES)
def test_each_example_runs_as_written(name, block):
    run_block(block, name)


# (example, the right line, the same line with a classic slip, the entries that must fail)
SLIPS = [
    pytest.param("a-dict-attributes", "dz = dout * (self.z > 0)",
                 "dz = dout * (self.x[:, :3] > 0)", ["x", "W", "b"], id="a-mask-of-the-input"),
    pytest.param("b-nnfs", "np.sum(dvalues, axis=0, keepdims=True)",
                 "np.mean(dvalues, axis=0, keepdims=True)", ["biases"], id="b-bias-averaged"),
    pytest.param("c-get-parameters", "np.add.at(dW, self.ids, dout)", "dW[self.ids] += dout",
                 ["W"], id="c-repeated-ids-dropped"),
    pytest.param("d-parallel-lists", "self.dW[...] = self.x.T @ dout",
                 "self.dW[...] = self.x.T @ dout / len(dout)", ["W"], id="d-weight-averaged"),
    pytest.param("e-named", "self.gain_grad = (dout * self.x).sum(axis=0)",
                 "self.gain_grad = (dout * self.x).mean(axis=0)", ["g"], id="e-gain-averaged"),
    pytest.param("loss", "return 2 * self.diff / self.diff.size", "return 2 * self.diff",
                 ["pred"], id="loss-sum-for-mean"),
]


@pytest.mark.parametrize("name, right, slip, failing", SLIPS)
def test_a_broken_example_fails_and_names_the_entry(name, right, slip, failing):
    block = BLOCKS[NAMES.index(name)]
    assert block.count(right) == 1, f"the line {right!r} is not in example {name}"
    with pytest.raises(CheckFailed) as raised:
        run_block(block.replace(right, slip), name)
    assert raised.value.report.failures == failing, raised.value.report
