"""Exercise answers: right ones pass, wrong ones say how they are wrong."""

import numpy as np
import pytest

from handgrad.compare.teach.exercises import WrongAnswer, answer

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
