"""One model, several threads: the rule both twins follow, written once.

A model keeps state between the steps of one pass: the forward pass's caches (``Z_l``,
``A_l``), the deltas of the backward pass, the gradient arrays it reuses (a handmade model
with ``inplace_grads``) or the ``.grad`` that autograd accumulates into (torch). Two
threads interleaving their passes on one model would mix that state and give wrong
gradients (or worse) without an error. So:

* every model has its own re-entrant lock, ``model.lock`` (a ``threading.RLock``); each
  public pass (``forward``, ``backward``, ``loss_and_grads``, ``loss_value``, ``predict``)
  holds it from start to end, so calls from several threads run one after another, each
  with the state it made. A caller may hold ``model.lock`` around several calls to keep
  their results together (``loss_and_grads`` then reading ``deltas``);
* per-thread storage (``model.per_thread``, a ``threading.local``) holds what must outlive
  a call but belongs to the thread that made it: the kept gradient arrays, so that
  another thread's call cannot overwrite the arrays that were returned to this thread;
* a backward pass reads the last forward pass's caches: when that forward ran in another
  thread, ``check_backward`` raises RuntimeError instead (hold ``model.lock`` around the
  pair, or call ``loss_and_grads``).

The lock and the thread-local storage are made on first use and are not copied:
``copy.deepcopy`` and pickling give the copy its own (``__getstate__`` leaves them out).
"""

from __future__ import annotations

import contextlib
import threading


class ThreadSafeModel:
    """Mixin: ``lock`` (a per-model ``RLock``) and ``per_thread`` (a ``threading.local``).

    Both are created on first use (``dict.setdefault`` is atomic), so a subclass that
    does not call this class's ``__init__`` (there is none) still gets them.
    """

    @property
    def lock(self) -> threading.RLock:
        """The model's re-entrant lock; its passes hold it, a caller may too."""
        lock = self.__dict__.get("_lock")
        return lock if lock is not None else self.__dict__.setdefault("_lock", threading.RLock())

    @property
    def per_thread(self) -> threading.local:
        """Storage private to the calling thread (reused gradient arrays, ...)."""
        local = self.__dict__.get("_per_thread")
        if local is None:
            local = self.__dict__.setdefault("_per_thread", threading.local())
        return local

    def note_forward(self) -> None:
        """Record that the calling thread ran the latest forward pass (call under ``lock``)."""
        self.__dict__["_forward_thread"] = threading.get_ident()

    def check_backward(self) -> None:
        """RuntimeError unless a forward pass ran, and ran in the calling thread."""
        owner = self.__dict__.get("_forward_thread")
        if owner is None:
            raise RuntimeError("backward called before forward: call forward(X) (or "
                               "loss_and_grads(X, y)) first; backward reads the values that "
                               "forward keeps")
        here = threading.get_ident()
        if owner != here:
            raise RuntimeError(f"backward called in thread {here} but the last forward ran in "
                               f"thread {owner}: its caches are not this thread's; hold "
                               "model.lock around forward and backward, or call "
                               "loss_and_grads(X, y)")

    def __getstate__(self) -> dict:
        """The state without the lock and the thread-local storage (a copy makes its own)."""
        with self.lock:
            state = dict(self.__dict__)
        for key in ("_lock", "_per_thread", "_forward_thread"):
            state.pop(key, None)
        return state


def lock_of(model):
    """``model.lock`` when the model has one (a context manager), else a no-op context."""
    lock = getattr(model, "lock", None)
    return lock if lock is not None else contextlib.nullcontext()
