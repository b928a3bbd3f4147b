"""torch_ref: the same models as torch.nn modules; autograd does the calculus (no handmade here)."""

from bookkeeping.errors import DivergenceError, NonFiniteParameterError
from torch_ref.device import cuda_devices, resolve_device, resolve_dtype
from torch_ref.functional import ACTIVATIONS, LOSSES, compute_loss
from torch_ref.mlp import TorchMLP, TorchNeuron
from torch_ref.optim import make_optimizer
from torch_ref.train import Trainer

__all__ = ["TorchMLP", "TorchNeuron", "NonFiniteParameterError", "ACTIVATIONS", "LOSSES",
           "compute_loss", "cuda_devices", "resolve_device", "resolve_dtype", "make_optimizer",
           "DivergenceError", "Trainer"]
