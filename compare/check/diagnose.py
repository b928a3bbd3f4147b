"""A diagnosis for a failing entry: which usual slip fits the numbers.

``diagnose(hand, ref, n_samples=None)`` tests hypotheses that need only the two arrays;
``diagnose_layers(model, X, y, report, ref_deltas, ref_grads)`` those that need a layered
handmade-shaped model. Each returns words (a dict of them), or None ({}) when nothing fits:
a diagnosis is never a guess. The rules, in the order they are tried:

* shapes differ: say so, and whether ``hand`` is the right numbers transposed, reshaped,
  not yet summed over the samples, or the mean or sum of the right entries;
* ``hand`` is 0 everywhere and ``ref`` is not;
* transposed (square arrays): ``hand ≈ refᵀ``;
* a constant factor: ``k = <hand, ref> / <ref, ref>`` (least squares). Named when it is
  ±2^a m^b (a, b in -1, 0, 1) within ``NAMED_TOL`` (``SMALL_NAMED_TOL`` for arrays of fewer
  than 3 entries, where any k fits and only a named one is said);
* right except where ``ref == 0`` (or ``hand == 0``): a mask; right on some samples only
  (first axis the batch of ``n_samples`` rows). When both fit, the samples when the wrong
  entries fill whole rows, the mask when they are scattered.

"Explains": a candidate ``C`` explains ``hand`` when ``‖hand − C‖ ≤ EXPLAINED ‖hand − ref‖``,
i.e. it accounts for 99 % of the discrepancy (normwise), whatever the dtype's rounding.
"Right" and "wrong" entries or rows are split with a gap: right ≤ ``RIGHT_EPS`` eps of the
hand's dtype) times the scale ``max|ref|``, wrong ≥ ``GAP`` times that; anything in
between and no split is claimed. Shape hypotheses ask for ``max(1e-6, that bound)``.
"""

from __future__ import annotations

import numpy as np

from handgrad.handmade.activations import get_activation
from handgrad.handmade.losses import get_loss
from handgrad.handmade.mlp import weight_key

EXPLAINED = 0.01  # a hypothesis must account for 99 % of the discrepancy, normwise
NAMED_TOL = 1e-3  # relative distance of a fitted k to a named factor (2, 1/m, -1, ...)
SMALL_NAMED_TOL = 1e-5  # the same for arrays of 1-2 entries, where any k fits exactly
MIN_ENTRIES_ANY_K = 3  # an unnamed constant factor needs at least this many entries
RIGHT_EPS = 1e3  # "right": error <= 1000 eps (of hand's dtype) x the scale max|ref|
GAP = 100.0  # "wrong": error >= GAP times the "right" bound; in between: no split claimed
SHOW = 5  # rows listed at most


def _fmt(k: float) -> str:
    digits = 7 if abs(k - 1.0) < 1e-3 else 4  # 1.000 would hide the factor
    return f"{k:#.{digits}g}".replace("-", "−")


def _shape(a: np.ndarray) -> str:
    return "a scalar" if a.ndim == 0 else f"a {a.shape} array"


def _explains(hand, ref, cand) -> bool:
    return bool(np.linalg.norm(hand - cand) <= EXPLAINED * np.linalg.norm(hand - ref))


def _close(a, b, tol: float) -> bool:
    """``a ≈ b``: within ``tol`` relative, normwise (for shape hypotheses)."""
    return bool(np.linalg.norm(a - b) <= tol * max(np.linalg.norm(b), 1e-300))


def _right_bound(hand_dtype) -> float:
    eps = np.finfo(hand_dtype).eps if np.issubdtype(hand_dtype, np.floating) else 2.2e-16
    return RIGHT_EPS * float(eps)


def _named(m: int | None):
    """``(value, sign, a, b)`` for every named factor ±2^a m^b, a, b in -1, 0, 1."""
    ms = (0,) if not m or m == 1 else (0, 1, -1)
    return [(s * 2.0 ** a * float(m or 1) ** b, s, a, b)
            for s in (1, -1) for a in (0, 1, -1) for b in ms]


def _factor_words(k: float, m: int | None, tol: float) -> str | None:
    """Words for k = ±2^a m^b within ``tol`` (the simplest matches), or None."""
    hits = [(abs(a) + abs(b), s, a, b) for v, s, a, b in _named(m)
            if abs(k - v) <= tol * abs(v) and v != 1.0]  # k = 1 is no slip
    if not hits:
        return None
    simplest = min(h[0] for h in hits)
    words = []
    for _, s, a, b in (h for h in hits if h[0] == simplest):
        parts = (["a sign flip"] if s < 0 else []) + (
            ["an extra 2 or a missing ½"] if a == 1 else
            ["a missing 2 or an extra ½"] if a == -1 else []) + (
            ["the 1/m of the mean is missing (the gradient of the sum)"] if b == 1 else
            ["an extra 1/m (divided by m twice, or a mean where the loss is a sum)"]
            if b == -1 else [])
        words.append(", and ".join(parts))
    return " or ".join(words)


def _constant_factor(hand, ref, m) -> str | None:
    k = float(np.vdot(hand, ref) / np.vdot(ref, ref))
    if not _explains(hand, ref, k * ref):
        return None
    small = hand.size < MIN_ENTRIES_ANY_K  # one or two entries: any k fits exactly
    words = _factor_words(k, m, SMALL_NAMED_TOL if small else NAMED_TOL)
    if small and words is None:
        return None
    with_m = f" with m = {m}" if words and "1/m" in words else ""
    return f"hand = {_fmt(k)} × autograd{with_m}: {words or 'a constant factor'}"


def _rows(idx) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:SHOW]) + (", …" if len(idx) > SHOW else "")
    return f"row{'s' if len(idx) > 1 else ''} {shown}"


def _split(err, scale, bound):
    """Boolean (right, wrong) masks of ``err`` relative to ``scale``; None without a gap."""
    right = err <= bound * scale
    wrong = err >= GAP * bound * scale
    return (right, wrong) if np.all(right | wrong) else None


def _mask(hand, ref, bound) -> str | None:
    scale = float(np.max(np.abs(ref)))
    split = _split(np.abs(hand - ref), scale, bound)
    if split is None or not split[1].any() or not split[0].any():
        return None
    wrong = split[1]
    n = int(wrong.sum())
    total = hand.size
    count = f"{n} of {total} entr{'y' if total == 1 else 'ies'}"
    if np.all(np.abs(ref[wrong]) <= bound * scale):
        return (f"right except where autograd is 0 and hand is not ({count}): "
                "a mask that lets gradient through where it should be blocked?")
    if np.all(np.abs(hand[wrong]) <= bound * scale):
        return (f"right except where hand is 0 and autograd is not ({count}): "
                "a mask that blocks gradient it should pass?")
    return None


def _samples(hand, ref, m, bound) -> str | None:
    if not m or m < 2 or hand.ndim != 2 or hand.shape[0] != m:
        return None
    hand_rows = np.linalg.norm(hand, axis=1)
    ref_rows = np.linalg.norm(ref, axis=1)
    scale = float(np.max(ref_rows))
    split = _split(np.linalg.norm(hand - ref, axis=1), scale, bound)
    if split is None:
        return None
    carry = (ref_rows > bound * scale) | (hand_rows > bound * scale)  # rows with a gradient
    right = np.flatnonzero(split[0] & carry)
    wrong = np.flatnonzero(split[1])
    if not len(right) or not len(wrong):
        return None
    n = int(carry.sum())
    of = f"{n} samples" + ("" if n == m else " that carry gradient")
    if len(right) <= len(wrong):
        return f"right on {len(right)} of {of} ({_rows(right)}); wrong on the others"
    return f"wrong on {len(wrong)} of {of} ({_rows(wrong)}); right on the others"


def _whole_rows(hand, ref, bound) -> bool:
    """Whether every wrong entry lies in a row that is wrong wherever it is not 0 on both."""
    tiny = bound * float(np.max(np.abs(ref)))
    wrong = np.abs(hand - ref) >= GAP * tiny
    silent = (np.abs(hand) <= tiny) & (np.abs(ref) <= tiny)
    return bool(np.all((wrong | silent)[wrong.any(axis=1)]))


def _shapes(hand, ref, tol: float) -> str:
    """Words for a ``hand`` whose shape is not ``ref``'s."""
    need = f"{_shape(hand)} where {_shape(ref)} is needed"
    if hand.size == 1 and ref.size > 1:
        h = float(hand.ravel()[0])
        if _close(np.array(h), np.mean(ref), tol):
            return (f"{need}: a mean over every entry (samples and features) instead of a sum "
                    "over samples? (hand = the mean of the right entries)")
        if _close(np.array(h), np.sum(ref), tol):
            return f"{need}: a sum over every entry (hand = the sum of the right entries)"
        return need
    if hand.ndim == 2 and ref.ndim == 2 and hand.shape == ref.T.shape and _close(hand, ref.T, tol):
        return f"{need}: the right numbers transposed (the layout (in, out), not (out, in)?)"
    if hand.size == ref.size and _close(hand.reshape(ref.shape), ref, tol):
        return f"{need}: the right numbers in another shape (reshape it)"
    if hand.ndim == ref.ndim + 1 and hand.shape[1:] == ref.shape and _close(hand.sum(0), ref, tol):
        return f"{need}: one row per sample, not yet summed over the samples (sum over axis 0)"
    return need


def diagnose(hand, ref, n_samples: int | None = None,
             reference: str = "autograd") -> str | None:
    """The slip that turns ``ref`` into ``hand``, in words; None when none fits.
    ``reference`` names what ``ref`` is, in the words (``"finite differences"``)."""
    found = _diagnose(hand, ref, n_samples)
    return found.replace("autograd", reference) if found else found


def _diagnose(hand, ref, n_samples: int | None) -> str | None:
    """``diagnose``'s rules, in the words of an autograd reference."""
    try:
        dtype = np.asarray(hand).dtype
        hand = np.asarray(hand, np.float64)
        ref = np.asarray(ref, np.float64)
        if not (np.all(np.isfinite(hand)) and np.all(np.isfinite(ref))) or ref.size == 0:
            return None
        bound = _right_bound(dtype)
        if hand.shape != ref.shape:
            return _shapes(hand, ref, max(1e-6, bound))
        if not np.any(ref):
            return None if not np.any(hand) else "autograd is 0 everywhere and hand is not"
        if not np.any(hand):
            return "hand is 0 everywhere and autograd is not: no gradient reaches it"
        if (hand.ndim == 2 and hand.shape[0] == hand.shape[1] > 1
                and _explains(hand, ref, ref.T)):
            return "hand = autogradᵀ: transposed"
        factor = _constant_factor(hand, ref, n_samples)
        mask = _mask(hand, ref, bound)
        rows = _samples(hand, ref, n_samples, bound)
        if mask and rows and not _whole_rows(hand, ref, bound):
            return factor or mask  # scattered entries: a mask says more than the rows
        return factor or rows or mask
    except Exception:  # a diagnosis is a help; it never breaks a check
        return None


def diagnose_layers(model, X, y, report, ref_deltas: dict, ref_grads: dict) -> dict[str, str]:
    """Diagnoses that need the model's layers, keyed by entry name (e.g. ``"delta[0]"``).

    At the first bad layer ``l`` (walking back from the output), with ``U`` the right
    upstream gradient dL/dA_l (autograd's ``delta[l+1] @ W_(l+1)``, or the loss's gradient
    at the output), ``f'`` from the activation's record, and ``hand`` the model's delta:

    * hand ≈ U: f'(Z) missing; hand ≈ f'(Z)² U: applied twice;
    * relu-like: hand differs from autograd only where Z sits exactly at the kink;
    * softmax: hand ≈ a (1 − a) U, the Jacobian's diagonal only;
    * hand − ref ≈ c (delta[l+1] @ dW_(l+1)) f'(Z) with c < 0: W_(l+1) read after the update
      W − lr dW, lr = −c.

    "≈" is ``EXPLAINED`` (99 % of the discrepancy). Every failing entry of layers ≤ l then
    gets "follows from delta[l]". Models without ``activations`` and ``intermediates`` get
    {}; any exception gives {} (a diagnosis never breaks a check).
    """
    try:
        return _diagnose_layers(model, X, y, report, ref_deltas, ref_grads)
    except Exception:
        return {}


def _diagnose_layers(model, X, y, report, ref_deltas, ref_grads) -> dict[str, str]:
    layer = report.first_bad_layer
    if (layer is None or not hasattr(model, "activations") or not hasattr(model, "intermediates")
            or f"delta[{layer}]" not in ref_deltas):
        return {}
    model.loss_and_grads(X, y)  # fresh intermediates: finite differences ran forwards since
    record = model.intermediates[layer]
    delta = record.delta  # a loss_and_grads that set deltas itself: read those
    delta = delta if delta is not None else getattr(model, "deltas", [None] * (layer + 1))[layer]
    dtype = np.asarray(delta).dtype
    Z = np.asarray(record.Z, np.float64)
    A = np.asarray(record.A, np.float64)
    hand = np.asarray(delta, np.float64)
    ref = np.asarray(ref_deltas[f"delta[{layer}]"], np.float64)
    act = get_activation(model.activations[layer])
    nxt = f"delta[{layer + 1}]"
    weight = weight_key(layer + 1)  # the next layer's W, named as the model names it
    if nxt in ref_deltas:  # the right upstream: layer l+1's delta passed
        W = np.asarray(model.params[weight], np.float64)
        upstream = np.asarray(ref_deltas[nxt], np.float64) @ W
    else:
        upstream = get_loss(model.loss).grad(A, y, getattr(model, "reduction", "mean"))
    text = None
    if hand.shape == ref.shape and _explains(ref, hand, act.backward(upstream, Z, A)):
        text = _activation_slip(layer, act, Z, A, hand, ref, upstream, _right_bound(dtype))
    if text is None and nxt in ref_deltas and weight in ref_grads and act.derivative:
        step = (np.asarray(ref_deltas[nxt], np.float64) @ np.asarray(ref_grads[weight])
                ) * act.derivative(Z, A)  # what reading W - lr dW adds, per unit of -lr
        c = float(np.vdot(hand - ref, step) / max(np.vdot(step, step), 1e-300))
        if c < 0 and _explains(hand, ref, ref + c * step):
            text = (f"layer {layer} reads W_{layer + 1} ({weight}) after it was updated (by lr "
                    f"≈ {-c:.3g}): compute every gradient before any update")
    if text is None:
        return {}
    found = {f"delta[{layer}]": text}
    for entry in report.entries:
        if (not entry.ok and entry.layer is not None and entry.layer <= layer
                and entry.name not in found):
            found[entry.name] = f"follows from delta[{layer}]: {text}"
    return found


def _activation_slip(layer, act, Z, A, hand, ref, upstream, bound) -> str | None:
    """The slip in ``delta = f'(Z) × upstream`` that gives ``hand``, or None."""
    if act.derivative is None:  # softmax: a Jacobian product
        if _explains(hand, ref, upstream):
            return (f"layer {layer}: softmax's backward is missing (delta = upstream, not "
                    "a * (dA − sum(dA * a)))")
        if _explains(hand, ref, A * (1.0 - A) * upstream):
            return (f"layer {layer}: softmax's backward uses only the Jacobian's diagonal "
                    "a(1 − a); it needs a * (dA − sum(dA * a))")
        return None
    local = act.derivative(Z, A)
    if _explains(hand, ref, upstream):
        return (f"layer {layer}: the activation derivative f'(Z) is missing "
                "(delta = upstream, not f'(Z) × upstream)")
    if _explains(hand, ref, local * local * upstream):
        return (f"layer {layer}: the activation derivative f'(Z) is applied twice "
                "(delta = f'(Z)² × upstream)")
    if act.kink is not None:
        split = _split(np.abs(hand - ref), float(np.max(np.abs(ref))), bound)
        if split is not None and split[1].any() and np.all(Z[split[1]] == act.kink):
            zero = np.zeros(1)
            at_kink = float(act.derivative(zero, act.value(zero))[0])
            where = [f"sample {i}, unit {j}" for i, j in np.argwhere(split[1])[:SHOW]]
            n = int(split[1].sum())
            return (f"layer {layer}: differs only where Z = {act.kink:g}, {act.name}'s kink: "
                    f"torch takes {act.name}'({act.kink:g}) = {at_kink:g} ({n} "
                    f"entr{'y' if n == 1 else 'ies'}: {'; '.join(where)}"
                    f"{'; …' if n > SHOW else ''})")
    return None
