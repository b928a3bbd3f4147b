"""Loss and output-activation pairs that cannot work are refused at construction, alike on
both twins (handmade.MLP and its neurons, torch_ref.TorchMLP and TorchNeuron).

The rule, written out here independently of the two tables it tests:

* ``bce`` reads independent probabilities in (0, 1): only ``sigmoid``. ``softmax`` is
  refused too: it ties the outputs together (and is the constant 1 for one output); a
  softmax over classes goes with ``nll``.
* ``nll`` reads class probabilities that sum to 1: only ``softmax``.
* ``cross_entropy`` applies softmax itself: ``sigmoid`` or ``softmax`` before it squashes
  the logits twice (the double-softmax slip; the loss can no longer approach 0).
* ``bce_with_logits`` and ``perceptron`` read the sign of a raw score: an output that is
  never negative (``relu``, ``sigmoid``, ``softmax``, ``softplus``, ``step``) never says
  class 0, so the class-1 samples give no gradient (perceptron) or every p >= 0.5.
* ``mse`` and ``half_mse`` accept every output.
"""

from __future__ import annotations

import pytest
import torch

from handgrad import handmade, torch_ref

ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "silu",
               "gelu", "softmax", "step"]
NEVER_NEGATIVE = ["relu", "sigmoid", "softmax", "softplus", "step"]
# loss -> (the output activations it refuses, the words its message must hold)
REFUSED = {
    "bce": ([a for a in ACTIVATIONS if a != "sigmoid"],
            ["probabilities in (0, 1)", "must be 'sigmoid'", "'bce_with_logits'"]),
    "nll": ([a for a in ACTIVATIONS if a != "softmax"],
            ["sum to 1", "must be 'softmax'", "'cross_entropy'"]),
    "cross_entropy": (["sigmoid", "softmax"],
                      ["logits", "must not be 'sigmoid' or 'softmax'", "'nll'"]),
    "bce_with_logits": (NEVER_NEGATIVE, ["either sign", "must not be", "'softplus'", "'bce'"]),
    "perceptron": (NEVER_NEGATIVE, ["either sign", "must not be", "'softplus'", "'identity'"]),
}
REFUSED_PAIRS = [(act, loss) for loss, (acts, _) in REFUSED.items() for act in acts]
ACCEPTED_PAIRS = [(act, loss) for loss in handmade.LOSSES for act in ACTIVATIONS
                  if (act, loss) not in REFUSED_PAIRS]


def build(twin: str, sizes, activations, loss):
    if twin == "handmade":
        return handmade.MLP(sizes, activations, loss)
    return torch_ref.TorchMLP(sizes, activations, loss, dtype=torch.float64)


def pair_id(pair) -> str:
    return f"{pair[0]}-{pair[1]}"


def test_the_written_rule_covers_every_loss():
    assert sorted(handmade.LOSSES) == sorted(torch_ref.LOSSES) == sorted(
        [*REFUSED, "mse", "half_mse"])
    assert sorted(handmade.ACTIVATIONS) == sorted(torch_ref.ACTIVATIONS) == sorted(ACTIVATIONS)


@pytest.mark.parametrize("twin", ["handmade", "torch"])
@pytest.mark.parametrize(("activation", "loss"), REFUSED_PAIRS, ids=map(pair_id, REFUSED_PAIRS))
def test_refused_pair(twin, activation, loss):
    with pytest.raises(ValueError) as info:
        build(twin, [3, 4, 2], ["tanh", activation], loss)
    message = str(info.value)
    for word in [f"loss '{loss}'", "the output activation", f"got '{activation}'",
                 *REFUSED[loss][1]]:
        assert word in message, (word, message)


@pytest.mark.parametrize(("activation", "loss"), REFUSED_PAIRS, ids=map(pair_id, REFUSED_PAIRS))
def test_both_twins_say_the_same(activation, loss):
    messages = []
    for twin in ("handmade", "torch"):
        with pytest.raises(ValueError) as info:
            build(twin, [3, 2], [activation], loss)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("twin", ["handmade", "torch"])
@pytest.mark.parametrize(("activation", "loss"), ACCEPTED_PAIRS, ids=map(pair_id, ACCEPTED_PAIRS))
def test_accepted_pair_builds(twin, activation, loss):
    if twin == "handmade" and activation == "step":  # step has no gradient: its own refusal
        with pytest.raises(ValueError, match="'step' has no gradient"):
            build(twin, [3, 4, 2], ["tanh", activation], loss)
        return
    model = build(twin, [3, 4, 2], ["tanh", activation], loss)
    assert model.loss == loss and model.activations[-1] == activation


def test_the_message_of_the_leaky_relu_bce_slip():
    """The reported case: once NaN and a crash inside torch, now one sentence up front."""
    expected = ("loss 'bce' needs probabilities in (0, 1): the output activation must be "
                "'sigmoid', got 'leaky_relu' (for raw scores use 'bce_with_logits'; for a "
                "softmax over classes, 'nll')")
    for twin in ("handmade", "torch"):
        with pytest.raises(ValueError) as info:
            build(twin, [5, 9], ["leaky_relu"], "bce")
        assert str(info.value) == expected


@pytest.mark.parametrize("twin", ["handmade", "torch"])
@pytest.mark.parametrize("hidden", ["softmax", "sigmoid", "relu"])
def test_only_the_output_layer_is_read(twin, hidden):
    """A hidden layer may squash: the rule reads the last activation only."""
    for last, loss in [("sigmoid", "bce"), ("identity", "cross_entropy"),
                       ("softmax", "nll"), ("identity", "perceptron")]:
        build(twin, [3, 4, 2], [hidden, last], loss)


def test_handmade_neurons_build_and_a_bad_subclass_is_refused():
    for neuron in (handmade.LogisticNeuron, handmade.LinearNeuron, handmade.Perceptron):
        neuron(3)

    class ReluLogistic(handmade.LogisticNeuron):
        activation = "relu"

    with pytest.raises(ValueError, match="loss 'bce' needs probabilities"):
        ReluLogistic(3)


@pytest.mark.parametrize(("activation", "loss"), [("sigmoid", "bce"), ("identity", "mse"),
                                                  ("identity", "perceptron")], ids=pair_id)
def test_torch_neuron_twins_of_the_handmade_neurons_build(activation, loss):
    torch_ref.TorchNeuron(3, activation, loss, dtype=torch.float64)


@pytest.mark.parametrize(("activation", "loss"), [("relu", "bce"), ("sigmoid", "perceptron"),
                                                  ("sigmoid", "bce_with_logits")], ids=pair_id)
def test_torch_neuron_refuses(activation, loss):
    with pytest.raises(ValueError, match=f"loss '{loss}' needs .* got '{activation}'"):
        torch_ref.TorchNeuron(3, activation, loss)
