"""bookkeeping: what both twins need and that is not mathematics, written once.

Errors, atomic file writes, and the training loop's stopping rules and history. It imports
neither handmade, torch_ref nor compare (and no torch): both twins may import it without
seeing each other. See docs/architecture.md.
"""
