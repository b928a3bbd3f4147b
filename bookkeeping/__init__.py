"""bookkeeping: what both twins need and that is not mathematics, written once.

``errors`` (DivergenceError, NonFiniteParameterError, check_finite_params), ``atomic``
(atomic file writes), ``batches`` (the lazy batch sequence, the checks of a run's data and
batches), ``training`` (``History`` and the training loop's stopping rules, in
``BaseTrainer``; ``DIVERGENCE_FACTOR``), ``threads`` (one model, several threads: the lock
and per-thread storage both twins' models use) and ``checks`` (layer sizes). It imports
neither handmade, torch_ref nor compare (and no torch): both twins may import it without
seeing each other. See docs/architecture.md.
"""
