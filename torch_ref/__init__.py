"""torch_ref: the same models as torch.nn modules; autograd does the calculus (no handmade here)."""

from handgrad.bookkeeping.errors import DivergenceError, NonFiniteParameterError
from handgrad.torch_ref.device import (
    cuda_devices,
    disable_tf32,
    resolve_device,
    resolve_dtype,
    restore_tf32,
    tf32_off,
)
from handgrad.torch_ref.functional import ACTIVATIONS, LOSSES, compute_loss
from handgrad.torch_ref.mlp import TorchMLP, TorchNeuron
from handgrad.torch_ref.optim import make_optimizer
from handgrad.torch_ref.train import Trainer

__all__ = ["TorchMLP", "TorchNeuron", "NonFiniteParameterError", "ACTIVATIONS", "LOSSES",
           "compute_loss", "cuda_devices", "resolve_device", "resolve_dtype", "make_optimizer",
           "DivergenceError", "Trainer", "disable_tf32", "restore_tf32", "tf32_off"]
