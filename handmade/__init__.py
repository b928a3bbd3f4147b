"""handmade: neurons and MLPs in NumPy, every derivative written by hand (no torch here)."""

from handgrad.bookkeeping.errors import DivergenceError, NonFiniteParameterError
from handgrad.bookkeeping.training import History, make_batches
from handgrad.handmade.activations import ACTIVATIONS, Activation, get_activation, softmax_jacobian
from handgrad.handmade.dense import dense_backward, dense_forward, init_dense
from handgrad.handmade.losses import LOSSES, Loss, get_loss
from handgrad.handmade.mlp import MLP
from handgrad.handmade.neuron import LinearNeuron, LogisticNeuron, Perceptron
from handgrad.handmade.optim import OPTIMIZERS, SGD, Adam, make_optimizer, sgd_step
from handgrad.handmade.train import Trainer

__all__ = [
    "ACTIVATIONS", "Activation", "get_activation", "softmax_jacobian",
    "dense_forward", "dense_backward", "init_dense",
    "LOSSES", "Loss", "get_loss",
    "MLP", "NonFiniteParameterError", "LogisticNeuron", "LinearNeuron", "Perceptron",
    "OPTIMIZERS", "SGD", "Adam", "make_optimizer", "sgd_step",
    "DivergenceError", "History", "Trainer", "make_batches",
]
