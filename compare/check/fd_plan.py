"""How ``check_gradients`` spends its finite differences: the plan, the runs, the note.

``fd="auto"`` picks, by the model's size (``plan``): every coordinate up to ``MAX_COORDS``
values; 8 random directions per tensor while one loss evaluation is small (batch x values
up to ``JOINT_WORK``); beyond, one joint direction through all tensors, and per tensor only
where it, or autograd, disagrees.
"""

from __future__ import annotations

import numpy as np

from handgrad.compare.check.fd_options import fd_method
from handgrad.compare.check.finite_diff import finite_differences, settled_within
from handgrad.compare.check.report import Entry
from handgrad.compare.check.tolerances import FINITE_DIFF, N_DIRECTIONS
from handgrad.handmade.mlp import MLP


def reads_its_last_forward(model) -> bool:
    """Whether ``loss_of(model)`` leaves in ``model.intermediates`` the very ``Z_l`` that
    ``model.preactivations(X)`` would compute again: both are ``handmade.MLP``'s own methods,
    each running ``self.forward(X)`` (then the loss, or the read of ``intermediates``)."""
    return (getattr(type(model), "loss_value", None) is MLP.loss_value
            and getattr(type(model), "preactivations", None) is MLP.preactivations)


def plan(fd: str, params: dict, m: int) -> str:
    """How ``fd="auto"`` differences ``params``: every coordinate up to ``MAX_COORDS``
    values; 8 random directions per tensor while one loss evaluation is small (batch x
    values up to ``JOINT_WORK``), where they cost little next to the rest of the check;
    beyond, one joint direction (two evaluations, where gradcheck's fast mode takes two per
    tensor), and per tensor only where it, or autograd, disagrees: autograd is the sharp
    reference here, finite differences the second one."""
    return fd_method(fd, sum(np.size(p) for p in params.values()), batch=m)


def differences(hand, X, y, grads, plan, seed, dtype):
    """``(results, error entry)``: finite differences by ``plan`` (None: none), the 2h step
    only where ``D(h)`` disagrees. A joint difference that the tolerance passes comes back
    as ``{"*": result}``; one that it does not, with each tensor's own differences."""
    if plan is None:
        return None, None
    settled = settled_within(FINITE_DIFF[dtype])
    reuse = reads_its_last_forward(hand)
    try:
        if plan == "joint":
            joint = finite_differences(hand, X, y, grads, method="joint", seed=seed,
                                       reuse_last_forward=reuse)
            if settled({"*": joint}):
                return {"*": joint}, None
            # per tensor: where it disagrees, as many directions as ever; where every step
            # length crossed a kink (a relu unit within 1e-9 of 0), one each, as gradcheck
            plan = "directions" if joint.fd.size else "one"
        one_each = plan == "one"
        results = finite_differences(hand, X, y, grads, seed=seed, settled=settled,
                                     method="directions" if one_each else plan,
                                     n_directions=1 if one_each else N_DIRECTIONS,
                                     reuse_last_forward=reuse)
        return results, None
    except Exception as exc:  # the loss failed at a perturbed point: report, go on
        return None, Entry("finite differences", "loss", None, status="fail",
                           note=f"raised {type(exc).__name__}: {exc}")


def joint_note(joint, results: dict, n_tensors: int) -> str:
    """What the joint difference found, in words."""
    error = float(np.abs(joint.fd - joint.predicted)[0] / max(abs(joint.fd[0]), 1e-300))
    per_tensor = (f"; differenced per tensor where autograd disagrees: {sorted(results)}"
                  if results else "")
    return (f"finite differences along one direction through all {n_tensors} tensors agree "
            f"with the hand gradient (relative difference {error:.1e}){per_tensor}")
