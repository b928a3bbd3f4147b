"""``TorchMLP`` and ``TorchNeuron``: the torch.nn twins of handmade's models.

Layer ``l`` is ``nn.Linear(sizes[l], sizes[l+1])`` followed by torch's activation, so
``state_dict()`` holds ``layers.{l}.weight`` ``(out, in)`` and ``layers.{l}.bias``
``(out,)``, the keys and shapes of ``handmade.MLP.params``. Activations are applied as
functions, not modules, so they take no index in ``layers``.

``loss_and_grads(X, y)`` runs autograd once and keeps ``Z_l`` of every layer with
``retain_grad()``, so ``deltas[l] = dL/dZ_l`` ``(m, out_l)`` can be read like the
handmade model's.

Threads: ``forward`` and ``loss_and_grads`` hold the model's re-entrant lock
``model.lock`` from start to end (``bookkeeping/threads.py``): autograd accumulates into
each parameter's shared ``.grad``, and ``zs``/``deltas`` belong to one call, so two calls
interleaved from two threads would mix their gradients (or crash the interpreter).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from handgrad.bookkeeping.checks import check_loss_for_output, check_sizes
from handgrad.bookkeeping.errors import NonFiniteParameterError
from handgrad.bookkeeping.threads import ThreadSafeModel
from handgrad.torch_ref.device import disable_tf32, resolve_device, resolve_dtype
from handgrad.torch_ref.functional import (
    as_labels,
    check_loss,
    compute_loss,
    get_activation,
    prepare_labels,
)

REDUCTIONS = ("mean", "sum")


class TorchMLP(ThreadSafeModel, nn.Module):
    """``TorchMLP(sizes, activations, loss, *, dtype=torch.float64, device="cpu")``.

    Args:
        sizes: ``[n_in, h_1, ..., n_out]``.
        activations: one name per layer (torch's activation of that name).
        loss: a loss name (torch's loss of that name and scaling);
            ``bookkeeping.checks.OUTPUT_RULES`` refuses an output activation that cannot give
            what it reads (``bce`` needs ``sigmoid``, ...).
        dtype: ``torch.float64`` or ``torch.float32`` (or their names).
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. On CUDA the twin calls
            ``torch_ref.device.disable_tf32()``: torch's global TF32 flags are turned off
            for the process, so that float32 products are float32 (the comparison's
            premise); ``restore_tf32`` sets them back.
        reduction: ``"mean"`` or ``"sum"``.
        seed: if given, seeds nn.Linear's default initialization (without touching
            torch's global generator); otherwise the global generator is used.

    Shape:
        X ``(m, n_in)`` -> output ``(m, n_out)``.

    Threads: safe to share; ``forward`` and ``loss_and_grads`` hold ``self.lock`` (an
    ``RLock``), so calls from several threads run one after another. ``deltas`` and ``zs``
    are the latest call's (hold ``self.lock`` around the call and the read).
    """

    def __init__(self, sizes, activations, loss, *, dtype=torch.float64, device="cpu",
                 reduction="mean", seed=None):
        super().__init__()
        self.sizes = check_sizes(sizes)
        if isinstance(activations, str) or len(activations) != len(self.sizes) - 1:
            raise ValueError(f"activations must be a list of {len(self.sizes) - 1} names "
                             f"(one per layer), got {activations!r}")
        self.activations = list(activations)
        for name in self.activations:
            get_activation(name)
        self.loss = check_loss_for_output(check_loss(loss), self.activations[-1])
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        dev = resolve_device(device)
        dt = resolve_dtype(dtype)
        if dev.type == "cuda":
            disable_tf32()  # float32 matmuls in float32, not TF32: see torch_ref/device.py
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
        """Output ``(m, n_out)``; keeps every ``Z_l`` in ``self.zs``.

        ``X`` must already be a float tensor of the model's dtype and device (``as_input``
        makes one); its shape and dtype are checked here, its values in ``as_input``. On the
        CPU a non-finite output makes it look for a NaN/Inf parameter (on CUDA that look
        would cost a device sync per call, so ``loss_and_grads`` does it from the loss).
        """
        self._check_layout(X)
        with self.lock:
            zs, A = [], X
            for layer, name in zip(self.layers, self.activations):
                Z = layer(A)  # (m, out_l)
                if Z.requires_grad and self.keep_deltas:
                    Z.retain_grad()  # so that deltas[l] = Z_l.grad can be read after backward
                zs.append(Z)
                A = get_activation(name)(Z)
            self.zs = zs
            if A.device.type == "cpu" and not bool(torch.isfinite(A).all()):
                self.check_finite_params()
            return A

    def _check_layout(self, X) -> None:
        if not X.is_floating_point():
            hint = "" if X.is_complex() else "; convert it with X.double() or X.float()"
            raise TypeError(f"X must be a floating-point tensor, got dtype {X.dtype}{hint}")
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (m, {self.sizes[0]}) (samples are rows), "
                             f"got {tuple(X.shape)}")
        if X.shape[0] == 0:
            raise ValueError("X is an empty batch (0 rows); expected at least one sample")

    def check_finite_params(self) -> None:
        """NonFiniteParameterError naming the first parameter that holds NaN/Inf."""
        with torch.no_grad():
            for key, p in self.named_parameters():
                bad = int((~torch.isfinite(p)).sum())
                if bad:
                    raise NonFiniteParameterError(f"parameter {key} holds {bad} NaN/Inf "
                                                  "value(s); expected finite numbers")

    def as_input(self, X) -> torch.Tensor:
        """``X`` as a tensor of this model's dtype on its device, checked.

        TypeError unless ``X`` holds floating-point numbers (integers are refused, as
        ``nn.Linear`` refuses them); ValueError for a wrong shape, no rows, or NaN/Inf.
        """
        kind = getattr(getattr(X, "dtype", None), "kind", "f")  # a NumPy array's dtype kind
        if kind != "f":
            hint = "; convert it with X.astype(np.float64)" if kind in "iub" else ""
            raise TypeError(f"X must be a floating-point array, got dtype {X.dtype}{hint}")
        try:
            X = torch.as_tensor(X)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"X must be a floating-point array, got {type(X).__name__} "
                            f"({exc})") from None
        self._check_layout(X)
        given, X = X, X.to(device=self.device, dtype=self.dtype)
        bad = ~torch.isfinite(X)
        if bool(bad.any()):
            if given.dtype != X.dtype and bool(torch.isfinite(given).all()):
                raise ValueError(f"X must be finite in the model's dtype "
                                 f"{str(self.dtype).removeprefix('torch.')}; "
                                 f"{int(bad.sum())} value(s) overflow it")
            raise ValueError(f"X must be finite; it holds {int(bad.sum())} NaN/Inf value(s)")
        return X

    def loss_and_grads(self, X, y) -> tuple[float, dict[str, torch.Tensor]]:
        """Autograd: ``(loss, grads)`` keyed like ``state_dict()``; sets ``deltas``.

        Holds ``self.lock`` from ``zero_grad`` to the copies of ``.grad`` it returns.
        """
        X = self.as_input(X)
        with self.lock:
            self.zero_grad(set_to_none=True)
            out = self.forward(X)
            loss = compute_loss(self.loss, out, y, self.reduction)
            loss.backward()
            value = loss.item()  # the one device sync, after the backward is queued
            if not math.isfinite(value):
                self.check_finite_params()  # a NaN/Inf parameter is named; an overflow passes
            self.deltas = [Z.grad.detach() for Z in self.zs] if self.keep_deltas else []
            grads = {name: p.grad.detach().clone() for name, p in self.named_parameters()}
            return value, grads

    def __getstate__(self) -> dict:
        """For copies and pickles: no lock (``ThreadSafeModel``), and no ``zs``, which belong
        to the last call's autograd graph (a non-leaf tensor cannot be deep-copied)."""
        state = super().__getstate__()
        state["zs"] = []
        return state

    def check_labels(self, y) -> None:
        """Raise where ``y`` does not suit the loss for ``len(y)`` samples (all rows, once)."""
        y = as_labels(y, self.device, self.loss)
        n = y.shape[0] if y.ndim else 1
        out = torch.zeros((), dtype=self.dtype, device=self.device).expand(n, self.sizes[-1])
        prepare_labels(self.loss, out, y)  # reads out's shape and dtype only




class TorchNeuron(TorchMLP):
    """One ``nn.Linear(n_features, 1)`` and an activation: the twin of handmade's neurons.

    ``TorchNeuron(n, "sigmoid", "bce")`` is the logistic neuron, ``("identity", "mse")``
    the linear neuron and ``("identity", "perceptron")`` the perceptron's loss.
    """

    def __init__(self, n_features: int, activation: str = "sigmoid", loss: str = "bce", **kw):
        super().__init__([n_features, 1], [activation], loss, **kw)
