"""A multi-layer perceptron of any depth, with the backward pass written by hand.

Layer ``l`` (0-based, counted from the input) computes::

    Z_l = A_{l-1} @ W_l.T + b_l        (m, out_l)      A_{-1} = X  (m, n_in)
    A_l = f_l(Z_l)                     (m, out_l)

and the backward pass walks back with the deltas ``delta_l = dL/dZ_l``::

    delta_L = f_L'(Z_L) * dL/dA_L                       output layer
    delta_l = f_l'(Z_l) * (delta_{l+1} @ W_{l+1})       hidden layers
    dW_l = delta_l.T @ A_{l-1},   db_l = sum_i delta_l[i]

After a call, ``intermediates`` shows what it computed, layer by layer: ``Z_l``, ``A_l``
and ``delta_l`` (a ``LayerIntermediates`` record each).

The formulas and the bookkeeping are apart: ``_forward_math`` and ``_backward_math`` hold
the lines above and nothing else; ``forward`` and ``backward`` wrap them in the input
checks, the lock, the record of the caches and of the thread that made them. By default
every gradient is a new array computed by ``dense_backward``'s plain lines
(``dW = dZ.T @ X``); ``inplace_grads=True`` opts into a speed trick (see ``MLP``).

Parameters live in ``params``, keyed and shaped exactly like the torch twin's
``state_dict()``: ``layers.{l}.weight`` ``(out_l, in_l)`` and ``layers.{l}.bias``
``(out_l,)``. The model's dtype is the dtype of its parameters; inputs are cast to it, so
a float32 model computes in float32 end to end.

Threads: every pass holds the model's lock (``bookkeeping/threads.py``; docs/training.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from handgrad.bookkeeping.checks import check_loss_for_output, check_sizes
from handgrad.bookkeeping.errors import check_finite_params
from handgrad.bookkeeping.threads import ThreadSafeModel
from handgrad.handmade.activations import get_activation
from handgrad.handmade.dense import dense_backward, dense_forward, init_dense
from handgrad.handmade.losses import REDUCTIONS, get_loss, prepare_labels

Array = np.ndarray
FLOAT_DTYPES = (np.float32, np.float64)


def weight_key(layer: int) -> str:
    """``"layers.{layer}.weight"``: the key of W_l, shape ``(out_l, in_l)``."""
    return f"layers.{layer}.weight"


def bias_key(layer: int) -> str:
    """``"layers.{layer}.bias"``: the key of b_l, shape ``(out_l,)``."""
    return f"layers.{layer}.bias"


def check_dtype(dtype) -> np.dtype:
    """``numpy.float32`` or ``numpy.float64`` (as a dtype); TypeError for anything else."""
    dt = np.dtype(dtype)
    if dt not in (np.dtype(d) for d in FLOAT_DTYPES):
        raise TypeError(f"dtype must be numpy.float32 or numpy.float64, got {dt}")
    return dt


@dataclass(frozen=True)
class LayerIntermediates:
    """What layer ``l`` computed in the model's last call, each array ``(m, ·)``.

    ``A_prev`` is the layer's input ``A_{l-1}`` (m, in_l) (``X`` for layer 0), ``Z`` the
    pre-activation ``Z_l = A_prev @ W_l.T + b_l`` (m, out_l), ``A`` the activation
    ``f_l(Z_l)`` (m, out_l), and ``delta`` is ``dL/dZ_l`` (m, out_l) from the backward
    pass of that same call, or None when the call was a forward pass only.
    """

    A_prev: Array
    Z: Array
    A: Array
    delta: Array | None


class LayerCache(NamedTuple):
    """What layer ``l``'s forward pass keeps for the backward pass.

    ``dense`` is ``dense_forward``'s cache ``(A_{l-1}, W_l)``; ``Z`` the pre-activation
    ``Z_l`` and ``A`` the activation ``A_l = f_l(Z_l)``, both ``(m, out_l)``.
    """

    dense: tuple[Array, Array]
    Z: Array
    A: Array


class MLP(ThreadSafeModel):
    """``MLP(sizes, activations, loss, *, seed=0, dtype=numpy.float64, reduction="mean",
    inplace_grads=False)``.

    Args:
        sizes: ``[n_in, h_1, ..., n_out]``, at least two positive integers.
        activations: one activation name per layer (``len(sizes) - 1`` names), see
            ``handmade.activations.ACTIVATIONS``.
        loss: a loss name from ``handmade.losses.LOSSES`` that suits the output
            (``bookkeeping.checks.OUTPUT_RULES``).
        seed: seeds nn.Linear's default initialization (uniform ±1/√fan_in).
        dtype: ``numpy.float64`` (the reference) or ``numpy.float32``.
        reduction: ``"mean"`` or ``"sum"``, as torch's losses.
        inplace_grads: a speed trick, off by default. When on, ``loss_and_grads`` writes
            the gradients into arrays it keeps between calls (as torch keeps ``.grad``; one
            set per thread) with ``dense_grads_into``, instead of the new arrays of the
            plain ``dW = dZ.T @ X``: the same bits (``tests/handmade/test_executed_lines.py``),
            faster where a new ``dW`` is costly (``benchmarks/inplace_grads.py``), but the
            returned arrays are overwritten by the thread's next call.

    Shape:
        X ``(m, n_in)``; output ``(m, n_out)``; labels as ``handmade.losses`` describes.

    Threads: safe to share. Every pass holds ``self.lock`` (an ``RLock``), so calls from
    several threads serialize; with ``inplace_grads`` the kept gradient arrays are kept per
    thread; ``deltas`` and ``intermediates`` are the latest call's, of whichever thread
    (hold ``self.lock`` around the call and the read to keep them together).
    """

    def __init__(self, sizes, activations, loss, *, seed=0, dtype=np.float64,
                 reduction="mean", inplace_grads=False):
        self.sizes = check_sizes(sizes)
        if isinstance(activations, str) or len(activations) != len(self.sizes) - 1:
            raise ValueError(f"activations must be a list of {len(self.sizes) - 1} names "
                             f"(one per layer), got {activations!r}")
        self.activations = [get_activation(a).name for a in activations]
        self.loss = check_loss_for_output(get_loss(loss).name, self.activations[-1])
        if "step" in self.activations:
            raise ValueError("activation 'step' has no gradient; use handmade.Perceptron")
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        if not isinstance(inplace_grads, bool):
            raise TypeError(f"inplace_grads must be True or False, got {inplace_grads!r}")
        dtype = check_dtype(dtype)
        rng = np.random.default_rng(seed)
        self.params: dict[str, Array] = {}
        for layer, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            W, b = init_dense(n_in, n_out, rng, dtype)
            self.params[weight_key(layer)] = W
            self.params[bias_key(layer)] = b
        self.deltas: list[Array] = []
        self._caches: list[LayerCache] = []  # per layer, of the last forward
        self._deltas_follow_forward = False  # whether deltas came from that forward's backward
        self.inplace_grads = inplace_grads  # the speed trick: gradients into kept arrays

    @property
    def n_layers(self) -> int:
        """Number of dense layers, ``len(sizes) - 1``."""
        return len(self.sizes) - 1

    @property
    def dtype(self) -> np.dtype:
        """The parameters' dtype, float32 or float64; inputs are cast to it."""
        return self.params[weight_key(0)].dtype

    def as_input(self, X) -> Array:
        """``X`` (m, n_in) as an array of the model's dtype; TypeError/ValueError if unfit."""
        X = np.asarray(X)
        if X.dtype.kind != "f":
            hint = ("; convert it with X.astype(np.float64)" if X.dtype.kind in "iub"
                    else "")
            raise TypeError(f"X must be a floating-point array, got dtype {X.dtype}{hint}")
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (m, {self.sizes[0]}) (samples are rows), "
                             f"got {X.shape}")
        if X.shape[0] == 0:
            raise ValueError("X is an empty batch (0 rows); expected at least one sample")
        given = X
        with np.errstate(over="ignore"):  # float64 beyond float32's range: reported below
            X = X.astype(self.dtype, copy=False)
        if not np.all(np.isfinite(X)):
            n_bad = np.sum(~np.isfinite(X))
            if X is not given and np.all(np.isfinite(given)):
                raise ValueError(f"X must be finite in the model's dtype {self.dtype}; "
                                 f"{n_bad} value(s) overflow it")
            raise ValueError(f"X must be finite; it holds {n_bad} NaN/Inf value(s)")
        return X

    def check_labels(self, y) -> None:
        """Raise where ``y`` does not suit the loss for ``len(y)`` samples (every row, once).

        The check ``loss_and_grads`` makes per batch (shape, dtype, range, finite), made on
        all labels at once; a Trainer runs it before the first step.
        """
        y = np.asarray(y)
        out = np.broadcast_to(np.zeros(1, self.dtype), (len(y) if y.ndim else 1, self.sizes[-1]))
        prepare_labels(get_loss(self.loss), out, y)

    def check_finite_output(self, out: Array) -> None:
        """Where ``out`` holds NaN/Inf, name the parameter that does (if one does).

        Only the small output is scanned on every call; the parameters only when it is not
        finite. Finite parameters whose output overflowed pass: a non-finite loss is the
        Trainer's divergence rule, not bad input.
        """
        if not np.all(np.isfinite(out)):
            check_finite_params(self.params)

    def forward(self, X) -> Array:
        """The output ``A_L`` (m, n_out); keeps each layer's cache for ``backward``.

        Checks ``X`` (``as_input``), runs ``_forward_math`` under the model's lock, keeps
        its caches, and names a NaN/Inf parameter when the output is not finite.
        """
        with self.lock:
            caches = self._forward_math(self.as_input(X))
            self._remember_forward(caches)
            out = caches[-1].A  # A_L, (m, n_out)
            self.check_finite_output(out)
            return out

    def _forward_math(self, X: Array) -> list[LayerCache]:
        """The forward pass's formulas and nothing else, for ``l = 0 .. L``::

            Z_l = A_{l-1} @ W_l.T + b_l        (m, out_l)      A_{-1} = X  (m, n_in)
            A_l = f_l(Z_l)                     (m, out_l)

        Returns every layer's ``LayerCache`` (its input ``A_{l-1}`` and ``W_l``, ``Z_l``, ``A_l``).
        """
        A = X  # A_{-1}
        caches = []
        for layer, name in enumerate(self.activations):
            W = self.params[weight_key(layer)]  # (out_l, in_l)
            b = self.params[bias_key(layer)]  # (out_l,)
            Z, dense_cache = dense_forward(A, W, b)  # (m, out_l)
            A = get_activation(name).forward(Z)  # (m, out_l)
            caches.append(LayerCache(dense_cache, Z, A))
        return caches

    def _remember_forward(self, caches: list[LayerCache]) -> None:
        """Keep one forward pass's caches and the thread that ran it (under ``lock``).

        The one writer of the caches; a subclass that computes its pass its own way (the
        closed-form neurons) keeps them through here too. ``deltas`` no longer belong to
        these caches until ``_remember_deltas``.
        """
        self._caches = caches
        self._deltas_follow_forward = False
        self.note_forward()

    def _remember_deltas(self, deltas: list[Array]) -> None:
        """Keep the deltas ``dL/dZ_l`` of a backward pass over the kept caches (under ``lock``)."""
        self.deltas = deltas
        self._deltas_follow_forward = True

    def preactivations(self, X) -> list[Array]:
        """``[Z_0, ..., Z_L]`` for ``X``: where the kinks of relu-like activations lie."""
        with self.lock:
            self.forward(X)
            return [layer.Z for layer in self.intermediates]

    @property
    def intermediates(self) -> list[LayerIntermediates]:
        """Per layer, input to output, what the last ``forward`` or ``loss_and_grads`` computed.

        Each entry is a ``LayerIntermediates`` with ``A_prev`` (m, in_l), ``Z`` and ``A``
        (m, out_l), and ``delta = dL/dZ_l`` (m, out_l), None after a forward pass alone.
        The arrays are the model's own; the next call makes new ones. RuntimeError before
        any call.
        """
        with self.lock:
            caches, follow, deltas = self._caches, self._deltas_follow_forward, self.deltas
        if not caches:
            raise RuntimeError("no intermediates yet: call forward(X) or loss_and_grads(X, y)")
        deltas = deltas if follow else [None] * len(caches)
        return [LayerIntermediates(cache.dense[0], cache.Z, cache.A, delta)
                for cache, delta in zip(caches, deltas)]

    def loss_value(self, X, y) -> float:
        """The loss alone (no backward): what finite differences evaluate."""
        with self.lock:
            return get_loss(self.loss).value(self.forward(X), y, self.reduction)

    def backward(self, dA: Array) -> dict[str, Array]:
        """Gradients of every parameter from ``dA = dL/dA_L`` (m, n_out); sets ``deltas``.

        Reads the caches of the last ``forward``: RuntimeError when there was none, or when
        it ran in another thread; ValueError when ``dA`` is not shaped like its output.
        Runs ``_backward_math`` under the model's lock (into the kept arrays of
        ``inplace_grads`` when that trick is on) and keeps its deltas.
        """
        with self.lock:
            caches = self._caches_for_backward(dA)
            grads, deltas = self._backward_math(dA, caches, self._kept_grad_arrays())
            self._remember_deltas(deltas)
            return grads

    def _caches_for_backward(self, dA) -> list[LayerCache]:
        """The last forward's caches, once ``check_backward`` and ``dA``'s shape allow it."""
        self.check_backward()
        caches = self._caches
        if np.shape(dA) != caches[-1].A.shape:
            raise ValueError(f"dA must have the shape of the last forward's output "
                             f"{caches[-1].A.shape}, got {np.shape(dA)}")
        return caches

    def _backward_math(self, dA: Array, caches: list[LayerCache],
                       kept: list) -> tuple[dict[str, Array], list[Array]]:
        """The backward pass's formulas and nothing else, for ``l = L .. 0``::

            delta_l = f_l'(Z_l) * dA_l          (m, out_l)    dA_L = dL/dA_L, the argument
            dW_l = delta_l.T @ A_{l-1}          (out_l, in_l)
            db_l = sum_i delta_l[i]             (out_l,)
            dA_{l-1} = delta_l @ W_l            (m, in_l)     not for l = 0 (the data)

        ``kept[l]`` is None (``dense_backward`` makes new arrays with its plain lines) or the
        ``(dW_l, db_l)`` pair the ``inplace_grads`` trick writes into. Returns ``(grads,
        deltas)``: grads keyed and ordered like ``params``, ``deltas[l] = delta_l``.
        """
        grads: dict[str, Array] = {}
        deltas: list[Array] = [None] * self.n_layers
        for layer in reversed(range(self.n_layers)):
            dense_cache, Z, A = caches[layer]  # forward was: A = f(Z), Z = A_prev W.T + b
            dZ = self.activation_backward(layer, dA, Z, A)  # f'(Z) * dA
            deltas[layer] = dZ  # (m, out_l)
            dA, dW, db = dense_backward(dZ, dense_cache, need_dX=layer > 0, out=kept[layer])
            grads[weight_key(layer)] = dW  # (out_l, in_l)
            grads[bias_key(layer)] = db  # (out_l,)
        return {key: grads[key] for key in self.params}, deltas

    def activation_backward(self, layer: int, dA: Array, Z: Array, A: Array) -> Array:
        """``delta_l = f_l'(Z_l) * dA`` (a Jacobian product for softmax), all ``(m, out_l)``.

        A subclass can override this one step of the backward pass to try its own
        derivation of an activation's derivative.
        """
        return get_activation(self.activations[layer]).backward(dA, Z, A)

    def new_grad_arrays(self) -> list[tuple[Array, Array]]:
        """Per layer, a new ``(dW_l, db_l)`` pair shaped and typed like ``W_l`` and ``b_l``."""
        return [(np.empty_like(self.params[weight_key(layer)]),
                 np.empty_like(self.params[bias_key(layer)]))
                for layer in range(self.n_layers)]

    def _kept_grad_arrays(self) -> list[tuple[Array, Array] | None]:
        """Per layer, the arrays the ``inplace_grads`` trick writes the gradients into.

        ``[None, ...]`` when the trick is off (the default): new arrays each call. When on,
        like torch's ``.grad``, the arrays returned by ``loss_and_grads`` are overwritten by
        the next call of the same thread (each thread keeps its own); copy them to keep them.
        Parameters replaced by arrays of another dtype or shape (a float64 copy of a float32
        model) get new kept arrays, from ``new_grad_arrays``.
        """
        if not self.inplace_grads:
            return [None] * self.n_layers
        kept = getattr(self.per_thread, "grad_arrays", None) or self.new_grad_arrays()
        for layer, (dW, db) in enumerate(kept):
            W, b = self.params[weight_key(layer)], self.params[bias_key(layer)]
            if (dW.dtype, dW.shape, db.dtype, db.shape) != (W.dtype, W.shape, b.dtype, b.shape):
                kept = self.new_grad_arrays()
                break
        self.per_thread.grad_arrays = kept
        return kept

    def loss_and_grads(self, X, y) -> tuple[float, dict[str, Array]]:
        """``(loss, grads)``: grads keyed and shaped like ``params``; ``deltas`` kept.

        The gradients are new arrays, unless ``inplace_grads`` is on: then the next call of
        the same thread overwrites them (as torch reuses ``.grad``). The model's lock is held
        through forward and backward.
        """
        with self.lock:
            out = self.forward(X)
            loss = get_loss(self.loss)
            value = loss.value(out, y, self.reduction)
            return value, self.backward(loss.grad(out, y, self.reduction))

    def predict(self, X) -> Array:
        """The model output ``A_L`` (m, n_out), e.g. probabilities for a sigmoid output."""
        return self.forward(X)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(sizes={self.sizes}, activations={self.activations}, "
                f"loss={self.loss!r}, dtype={self.dtype.name})")

