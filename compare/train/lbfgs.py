"""L-BFGS on both twins: SciPy's L-BFGS-B on the handmade gradient, torch.optim.LBFGS on autograd.

Both minimize the same full-batch loss ``L(theta)`` of one model over all its parameters,
``theta`` being the parameters flattened in a fixed order (the ``params`` key order, each
array in C order)::

    theta = concat(W_0.ravel(), b_0, W_1.ravel(), b_1, ...)     (P,)   float64
    W_l (out_l, in_l), b_l (out_l,)  <->  theta[offset_l : offset_l + size_l]

``fit_scipy_lbfgs`` hands ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` the
function ``theta -> (L, dL/dtheta)``, both from ``model.loss_and_grads`` (the hand-derived
backward pass), and writes the optimum back into ``model.params``. ``fit_torch_lbfgs``
runs ``torch.optim.LBFGS(line_search_fn="strong_wolfe")`` with a closure that recomputes
``torch_ref.compute_loss`` of the torch twin and backpropagates it.

Both stop on the same criterion, the largest gradient entry::

    max_i |dL/dtheta_i| <= gtol  (SciPy)   or   <= tolerance_grad  (torch)

so at the two optima ``||theta_scipy - theta_torch|| <= (||g_1|| + ||g_2||) / lambda_min(H)``
for a strongly convex loss with Hessian ``H``: parameter agreement is limited by the
conditioning, the loss agreement by ``||g||^2 / lambda_min`` (see tests/train/test_lbfgs.py).
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import torch

from handgrad import torch_ref


def flatten_params(params: dict[str, np.ndarray]) -> np.ndarray:
    """All parameters in key order, each raveled in C order, as one float64 vector (P,)."""
    return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in params.values()])


def unflatten_into(theta: np.ndarray, params: dict[str, np.ndarray]) -> None:
    """Write ``theta`` (P,) back into ``params`` in place, key order as ``flatten_params``.

    Each array keeps its shape and dtype; ValueError if ``theta`` has the wrong length.
    """
    theta = np.asarray(theta)
    total = sum(p.size for p in params.values())
    if theta.shape != (total,):
        raise ValueError(f"theta must have shape ({total},) for these params, got {theta.shape}")
    offset = 0
    for p in params.values():
        p[...] = theta[offset:offset + p.size].reshape(p.shape)  # casts to p's dtype
        offset += p.size


def fit_scipy_lbfgs(model, X, y, *, gtol: float = 1e-10, ftol: float = 0.0,
                    maxiter: int = 10000, maxcor: int = 10) -> scipy.optimize.OptimizeResult:
    """Minimize ``model``'s full-batch loss with SciPy's L-BFGS-B on the handmade gradient.

    Args:
        model: anything with a ``params`` dict and ``loss_and_grads(X, y)`` (a handmade
            ``MLP`` or neuron); its current parameters are the starting point.
        gtol: stop when the largest gradient entry is at most ``gtol``.
        ftol: L-BFGS-B's relative-decrease stop; 0 (the default here, SciPy's is 2.2e-9)
            so that only ``gtol`` (or a line search that cannot decrease ``L`` any
            further) ends the run.
        maxiter, maxcor: SciPy's iteration limit and number of stored correction pairs.

    Returns:
        SciPy's ``OptimizeResult`` (``x`` the optimum (P,), ``fun``, ``jac``, ``nit``,
        ``success``, ``message``). ``model.params`` holds ``x`` on return.
    """
    params = model.params

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        unflatten_into(theta, params)
        loss, grads = model.loss_and_grads(X, y)
        return float(loss), flatten_params({k: grads[k] for k in params})  # params' order

    theta0 = flatten_params(params)
    result = scipy.optimize.minimize(fun, theta0, jac=True, method="L-BFGS-B",
                                     options={"gtol": gtol, "ftol": ftol, "maxiter": maxiter,
                                              "maxcor": maxcor})
    unflatten_into(result.x, params)  # the last evaluation need not have been at x
    return result


def _flat(params: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


def fit_torch_lbfgs(torch_model: torch.nn.Module, X, y, *, tolerance_grad: float = 1e-10,
                    tolerance_change: float = 0.0, max_iter: int = 10000,
                    history_size: int = 10, inner_iter: int = 100) -> dict:
    """Minimize a torch twin's full-batch loss with ``torch.optim.LBFGS`` (strong Wolfe).

    Args:
        torch_model: a ``torch_ref.TorchMLP`` (or anything with ``.loss``, ``.reduction``
            and a forward pass); its current parameters are the starting point.
        tolerance_grad: stop when the largest gradient entry is at most this.
        tolerance_change: torch's stop on a tiny change of loss or step; 0 so that only
            ``tolerance_grad``, ``max_iter`` or a stalled step ends the run.
        max_iter: total L-BFGS iterations over all ``opt.step`` calls.
        history_size: stored correction pairs (10, as SciPy's ``maxcor`` default).
        inner_iter: iterations per ``opt.step(closure)``; steps repeat until converged.

    Returns:
        ``{"loss", "grad_max", "n_iter", "func_evals", "steps", "converged"}``: the loss
        and largest gradient entry at the final parameters (the model holds them),
        torch's iteration and evaluation counts, and whether ``grad_max <= tolerance_grad``.
    """
    Xt = torch_model.as_input(X) if hasattr(torch_model, "as_input") else torch.as_tensor(X)
    params = [p for p in torch_model.parameters() if p.requires_grad]
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=inner_iter, tolerance_grad=tolerance_grad,
                            tolerance_change=tolerance_change, history_size=history_size,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=False)
        loss = torch_ref.compute_loss(torch_model.loss, torch_model(Xt), y,
                                      torch_model.reduction)
        loss.backward()
        return loss

    state = opt.state[params[0]]
    steps = 0
    while True:
        before, theta_before = state.get("n_iter", 0), _flat(params)
        opt.param_groups[0]["max_iter"] = min(inner_iter, max_iter - before)
        opt.step(closure)
        steps += 1
        n_iter = state["n_iter"]
        loss = closure().item()  # loss and gradient at the parameters the step ended on
        grad_max = max(float(p.grad.abs().max()) for p in params)
        stalled = torch.equal(_flat(params), theta_before)  # the line search found no decrease
        if grad_max <= tolerance_grad or n_iter >= max_iter or stalled:
            break
    return {"loss": loss, "grad_max": grad_max, "n_iter": n_iter,
            "func_evals": state["func_evals"], "steps": steps,
            "converged": grad_max <= tolerance_grad}
