"""Exercise answers: right ones pass, wrong ones say how they are wrong."""

import numpy as np
import pytest

from handgrad.compare.teach.exercises import NotDone, WrongAnswer, answer, require

RIGHT = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])


def test_a_right_answer_prints_right(capsys):
    assert answer("dW", RIGHT + 1e-12, RIGHT)
    assert capsys.readouterr().out.startswith("dW: right")


@pytest.mark.parametrize("given, words", [
    (2 * RIGHT, "yours = 2.000 × the expected"),
    (-RIGHT, "sign flip"),
    (RIGHT.T, "transposed"),
    (None, "no answer yet"),
    (np.zeros_like(RIGHT), "yours is 0 everywhere"),
])
def test_a_wrong_answer_says_what_is_wrong(given, words):
    with pytest.raises(WrongAnswer, match=words) as info:
        answer("dW", given, RIGHT, n_samples=2)
    assert "autograd" not in str(info.value) and "hand" not in str(info.value)


def test_a_blank_answer_is_not_done_and_names_itself():
    with pytest.raises(NotDone, match=r"^dW: not done yet \(still \.\.\.\)"):
        answer("dW", ..., RIGHT)


def test_require_names_every_blank_answer_and_passes_the_filled_ones():
    require(W=RIGHT, b=0.0, f=len)  # nothing blank: no error
    with pytest.raises(NotDone, match=r"^W, f: not done yet"):
        require(W=..., b=0.0, f=...)


def test_not_done_shows_one_line_in_a_notebook_not_a_traceback():
    """IPython prints ``_render_traceback_()`` in place of the traceback."""
    with pytest.raises(NotDone) as info:
        require(delta=...)
    assert info.value._render_traceback_() == [f"NotDone: {info.value}"]
    assert issubclass(NotDone, WrongAnswer)  # `except WrongAnswer` cells still catch it
