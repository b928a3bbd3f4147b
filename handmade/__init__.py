"""handmade: neurons and MLPs in NumPy, every derivative written by hand (no torch here)."""

from bookkeeping.errors import DivergenceError, NonFiniteParameterError
from handmade.activations import ACTIVATIONS, Activation, get_activation, softmax_jacobian
from handmade.dense import dense_backward, dense_forward, init_dense
from handmade.losses import LOSSES, Loss, get_loss
from handmade.mlp import MLP
from handmade.neuron import LinearNeuron, LogisticNeuron, Perceptron
from handmade.optim import OPTIMIZERS, SGD, Adam, make_optimizer, sgd_step
from handmade.train import History, Trainer, make_batches

__all__ = [
    "ACTIVATIONS", "Activation", "get_activation", "softmax_jacobian",
    "dense_forward", "dense_backward", "init_dense",
    "LOSSES", "Loss", "get_loss",
    "MLP", "NonFiniteParameterError", "LogisticNeuron", "LinearNeuron", "Perceptron",
    "OPTIMIZERS", "SGD", "Adam", "make_optimizer", "sgd_step",
    "DivergenceError", "History", "Trainer", "make_batches",
]
