"""``TorchMLP`` and ``TorchNeuron``: the torch.nn twins of handmade's models.

Layer ``l`` is ``nn.Linear(sizes[l], sizes[l+1])`` followed by torch's activation, so
``state_dict()`` holds ``layers.{l}.weight`` ``(out, in)`` and ``layers.{l}.bias``
``(out,)``, the keys and shapes of ``handmade.MLP.params``. Activations are applied as
functions, not modules, so they take no index in ``layers``.

``loss_and_grads(X, y)`` runs autograd once and keeps ``Z_l`` of every layer with
``retain_grad()``, so ``deltas[l] = dL/dZ_l`` ``(m, out_l)`` can be read like the
handmade model's.
"""

from __future__ import annotations

import torch
from torch import nn

from torch_ref.device import resolve_device, resolve_dtype
from torch_ref.functional import check_loss, compute_loss, get_activation


class TorchMLP(nn.Module):
    """``TorchMLP(sizes, activations, loss, *, dtype=torch.float64, device="cpu")``.

    Args:
        sizes: ``[n_in, h_1, ..., n_out]``.
        activations: one name per layer (torch's activation of that name).
        loss: a loss name (torch's loss of that name and scaling).
        dtype: ``torch.float64`` or ``torch.float32`` (or their names).
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; CUDA turns TF32 off.
        reduction: ``"mean"`` or ``"sum"``.
        seed: if given, seeds nn.Linear's default initialization (without touching
            torch's global generator); otherwise the global generator is used.

    Shape:
        X ``(m, n_in)`` -> output ``(m, n_out)``.
    """

    def __init__(self, sizes, activations, loss, *, dtype=torch.float64, device="cpu",
                 reduction="mean", seed=None):
        super().__init__()
        if len(sizes) < 2 or len(activations) != len(sizes) - 1:
            raise ValueError(f"need sizes [n_in, ..., n_out] and one activation per layer, got "
                             f"sizes={sizes!r}, activations={activations!r}")
        self.sizes = [int(s) for s in sizes]
        self.activations = list(activations)
        for name in self.activations:
            get_activation(name)
        self.loss = check_loss(loss)
        self.reduction = reduction
        dev, dt = resolve_device(device), resolve_dtype(dtype)
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.layers = nn.ModuleList(
                nn.Linear(i, o, dtype=dt, device=dev) for i, o in zip(sizes[:-1], sizes[1:]))
        self.zs: list[torch.Tensor] = []
        self.deltas: list[torch.Tensor] = []
        self.keep_deltas = True  # retain Z_l.grad; a benchmark turns this off

    @property
    def device(self) -> torch.device:
        return self.layers[0].weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.layers[0].weight.dtype

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Output ``(m, n_out)``; keeps every ``Z_l`` in ``self.zs``."""
        self.zs = []
        A = X
        for layer, name in zip(self.layers, self.activations):
            Z = layer(A)  # (m, out_l)
            if Z.requires_grad and self.keep_deltas:
                Z.retain_grad()  # so that deltas[l] = Z_l.grad can be read after backward
            self.zs.append(Z)
            A = get_activation(name)(Z)
        return A

    def as_input(self, X) -> torch.Tensor:
        """``X`` as a tensor of this model's dtype on its device."""
        return torch.as_tensor(X).to(device=self.device, dtype=self.dtype)

    def loss_and_grads(self, X, y) -> tuple[float, dict[str, torch.Tensor]]:
        """Autograd: ``(loss, grads)`` keyed like ``state_dict()``; sets ``deltas``."""
        self.zero_grad(set_to_none=True)
        out = self.forward(self.as_input(X))
        loss = compute_loss(self.loss, out, y, self.reduction)
        loss.backward()
        self.deltas = [Z.grad.detach() for Z in self.zs] if self.keep_deltas else []
        grads = {name: p.grad.detach().clone() for name, p in self.named_parameters()}
        return loss.item(), grads


class TorchNeuron(TorchMLP):
    """One ``nn.Linear(n_features, 1)`` and an activation: the twin of handmade's neurons.

    ``TorchNeuron(n, "sigmoid", "bce")`` is the logistic neuron, ``("identity", "mse")``
    the linear neuron and ``("identity", "perceptron")`` the perceptron's loss.
    """

    def __init__(self, n_features: int, activation: str = "sigmoid", loss: str = "bce", **kw):
        super().__init__([n_features, 1], [activation], loss, **kw)
