"""How a ``handgrad`` process meets its surroundings: closed streams, a reader that goes
away, Ctrl-C, a bad ``MPLBACKEND``, and JSON that other programs can read.

- ``ensure_std_streams``: started with stdout or stderr closed (``2>&-``), Python sets
  ``sys.stderr`` to None; the closed descriptor is reopened on the null device so that
  every ``print(..., file=sys.stderr)`` and ``sys.stderr.isatty()`` works, and no file
  opened later takes descriptor 1 or 2.
- ``EXIT_PIPE`` (141 = 128 + SIGPIPE, what a shell reports for ``yes | head``): the
  reader of stdout went away (``handgrad verify | head -3``). ``silence_stdout`` points
  descriptor 1 at the null device (Python's documented recipe for ``BrokenPipeError``),
  so that the flush at exit cannot fail a second time; nothing is printed.
- ``EXIT_INTERRUPTED`` (130 = 128 + SIGINT): Ctrl-C. ``interrupted_line`` is the one line
  printed: ``handgrad: <the KeyboardInterrupt's message>``, or ``handgrad: interrupted``.
  ``noticing_interrupts`` holds a Ctrl-C that lands inside an import until the import
  returns (raised inside torch's or NumPy's module set-up it aborts the process or turns
  into another error), and remembers that it came (``interrupted()``), so that an error
  a library made of it is still reported as the interrupt it was.
- ``check_matplotlib_backend``: matplotlib refuses to import when ``MPLBACKEND`` names no
  backend; a command that plots calls this first, so the message names the variable.

JSON files (``verify --json``, ``bench --json``) are written by
``bookkeeping.atomic.write_json_atomic``: strict JSON, a non-finite float as ``null``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_PIPE = 141  # 128 + SIGPIPE


def ensure_std_streams() -> None:
    """Give a closed stdout/stderr (``sys.stdout``/``sys.stderr`` None) the null device."""
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        null = os.open(os.devnull, os.O_WRONLY)
        if null != fd:
            try:
                os.fstat(fd)
            except OSError:  # the descriptor is closed: the null device takes its place
                os.dup2(null, fd)
                os.close(null)
                null = fd
        setattr(sys, name, open(null, "w", encoding="utf-8"))


def silence_stdout() -> None:
    """After a ``BrokenPipeError``: descriptor 1 onto the null device, output dropped."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (e.g. captured)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


def interrupted_line(exc: KeyboardInterrupt) -> str:
    """``handgrad: <message>`` on one line (``handgrad: interrupted`` without a message)."""
    message = " ".join(str(exc).split())
    return f"handgrad: {message or 'interrupted'}"


_INTERRUPTS: list[int] = []


def _importing(frame) -> bool:
    """Whether ``frame`` runs inside an ``import`` statement (importlib's frames)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _raise_when_safe(signum, frame) -> None:
    """KeyboardInterrupt now, or, inside an import, on a look 20 ms later (SIGALRM)."""
    alarm = getattr(signal, "SIGALRM", None)  # POSIX only
    if alarm is not None and signal.getsignal(alarm) is _raise_when_safe and _importing(frame):
        signal.setitimer(signal.ITIMER_REAL, 0.02)
        return
    raise KeyboardInterrupt


def _on_sigint(signum, frame) -> None:
    _INTERRUPTS.append(signum)
    _raise_when_safe(signum, frame)


@contextlib.contextmanager
def noticing_interrupts():
    """SIGINT raises KeyboardInterrupt, as by default, remembered for ``interrupted``; but
    not inside an import: torch's and NumPy's C++/C module set-up cannot unwind it (an
    abort, or a half-made module), so it is raised once the import has returned.

    Does nothing outside the main thread or when SIGINT is not Python's default handler
    (ignored, or someone else's): that choice stays. The deferral needs SIGALRM with no
    handler of its own (POSIX); otherwise the interrupt is raised at once.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    _INTERRUPTS.clear()
    alarm = getattr(signal, "SIGALRM", None)
    own_alarm = alarm is not None and signal.getsignal(alarm) == signal.SIG_DFL
    if own_alarm:
        signal.signal(alarm, _raise_when_safe)
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if own_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(alarm, signal.SIG_DFL)


def interrupted() -> bool:
    """Whether SIGINT came inside the current ``noticing_interrupts`` block."""
    return bool(_INTERRUPTS)


def say(line: str) -> None:
    """One line on stderr, flushed; a stderr that cannot be written is left alone."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def check_matplotlib_backend(environ=None) -> None:
    """A ``ValueError`` naming ``MPLBACKEND`` when matplotlib cannot start with its value.

    Imports matplotlib only when the variable is set (the command will draw anyway).
    """
    environ = os.environ if environ is None else environ
    value = environ.get("MPLBACKEND")
    if value is None or "matplotlib" in sys.modules:
        return
    try:
        import matplotlib  # noqa: F401
    except ValueError:
        raise ValueError(f"MPLBACKEND={value!r} is not a matplotlib backend; unset it "
                         "(handgrad draws its files with Agg) or name one, e.g. "
                         "MPLBACKEND=agg") from None
