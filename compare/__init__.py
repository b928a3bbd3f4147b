"""compare: the judge between handmade (NumPy) and torch_ref (torch).

The only package that imports both sides.
"""

from compare.check.gradcheck import Entry, GradReport, assert_gradients_match, check_gradients
from compare.spec import Spec, build_twins
from compare.transfer import hand_to_torch, torch_to_hand

__all__ = ["check_gradients", "assert_gradients_match", "GradReport", "Entry",
           "Spec", "build_twins", "hand_to_torch", "torch_to_hand"]
