"""How much memory a side-by-side run of an MLP needs, estimated before anything is allocated.

    estimate_run_memory(sizes=[2, 8, 1], itemsize=8, rows=240, steps=800, optimizer_slots=0)

adds three terms (bytes), each an upper-side estimate of what ``handgrad train`` holds:

* parameters: ``P × itemsize × copies`` with ``P = Σ_l (n_{l-1} + 1) n_l`` and, per twin,
  the parameters, the gradients, one update temporary and ``optimizer_slots`` state arrays
  (momentum 1, Adam 2), plus ``extra_copies`` (the best parameters kept for early stopping,
  the animation's snapshots) and 2 float64 copies for the twins' difference after a step;
* activations: ``rows × Σ_l n_l × itemsize × 6`` (Z, A and δ of every layer on both twins,
  for the largest forward pass: a batch or a whole split);
* the record: ``steps × RECORD_BYTES`` (one step's record in memory and in ``run.json``).

``available_memory()`` is the memory the system can give now: ``MemAvailable`` of
``/proc/meminfo`` (Linux), else the physical memory (``os.sysconf``); None where unknown.
"""

from __future__ import annotations

import os

RECORD_BYTES = 1024  # one step's record: a dict of 8 numbers (~650 B) and its JSON (~250 B)


def n_parameters(sizes) -> int:
    """``Σ_l (n_{l-1} + 1) n_l``: the weights and biases of an MLP ``[n_0, ..., n_L]``."""
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def estimate_run_memory(sizes, itemsize: int, rows: int, steps: int, optimizer_slots: int = 0,
                        extra_copies: int = 0) -> dict[str, int]:
    """The estimate's terms in bytes: ``parameters``, ``activations``, ``record``, ``total``."""
    p = n_parameters(sizes)
    copies = 2 * (3 + optimizer_slots) + extra_copies
    terms = {"parameters": p * itemsize * copies + 2 * p * 8,
             "activations": rows * sum(sizes) * itemsize * 6,
             "record": steps * RECORD_BYTES}
    terms["total"] = sum(terms.values())
    return terms


def available_memory() -> int | None:
    """Bytes of memory available now (see the module docstring), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def human_bytes(n: float) -> str:
    """``15.0 TiB``-style text (powers of 1024)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"
