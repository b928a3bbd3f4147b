"""One spec, two twins: build the handmade MLP and the torch MLP from the same description.

``Spec(sizes, activations, loss, reduction)``; ``build_twins(spec, seed=..., dtype=...,
device=...)`` initializes the handmade model from ``seed`` (nn.Linear's scheme) and copies
its parameters into the torch twin, so both start from identical numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from handgrad import handmade, torch_ref
from handgrad.compare.transfer import NUMPY_DTYPES, TORCH_DTYPES, dtype_name, hand_to_torch


@dataclass(frozen=True)
class Spec:
    """What both twins are built from. ``sizes = (n_in, ..., n_out)``, one activation per layer."""

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    reduction: str = "mean"

    @classmethod
    def of(cls, model) -> Spec:
        """The spec of a model of either side (anything with sizes, activations, loss)."""
        try:
            return cls(tuple(model.sizes), tuple(model.activations), model.loss,
                       getattr(model, "reduction", "mean"))
        except AttributeError:
            raise TypeError(f"{type(model).__name__} has no sizes/activations/loss to build a "
                            "twin from; pass torch_model= explicitly, or check code in your own "
                            "names and layouts with compare.check_model") from None

    def hand(self, *, seed=0, dtype="float64") -> handmade.MLP:
        return handmade.MLP(list(self.sizes), list(self.activations), self.loss, seed=seed,
                            dtype=NUMPY_DTYPES[dtype_name(dtype)], reduction=self.reduction)

    def torch(self, *, dtype="float64", device="cpu") -> torch_ref.TorchMLP:
        return torch_ref.TorchMLP(list(self.sizes), list(self.activations), self.loss,
                                  dtype=TORCH_DTYPES[dtype_name(dtype)], device=device,
                                  reduction=self.reduction)


def build_twins(spec: Spec, *, seed=0, dtype="float64", device="cpu"):
    """``(hand, torch_model)`` with equal parameters (the handmade init, copied over)."""
    hand = spec.hand(seed=seed, dtype=dtype)
    twin = spec.torch(dtype=dtype, device=device)
    hand_to_torch(hand, twin)
    return hand, twin
