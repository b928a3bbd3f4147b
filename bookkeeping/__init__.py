"""bookkeeping: what both twins need and that is not mathematics, written once.

``errors`` (DivergenceError, NonFiniteParameterError), ``atomic`` (atomic file writes),
``training`` (the batch sequence, ``History`` and the training loop's stopping rules, in
``BaseTrainer``) and ``checks`` (layer sizes). It imports neither handmade, torch_ref nor
compare (and no torch): both twins may import it without seeing each other. See
docs/architecture.md.
"""
