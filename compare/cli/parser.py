"""The parser every ``handgrad`` command shares: defaults in ``--help``, and "did you mean".

``HandgradParser`` is an ``argparse.ArgumentParser`` whose sub-parsers are of the same
class (``add_subparsers`` builds them with ``type(self)``), so each subcommand gets, with
no code of its own:

- ``--help`` lists every option's default, as ``(default: X)`` after its help text (an
  option without help text gets that alone); defaults ``None`` and ``False`` (flags) and
  help texts that already say ``default:`` are left as they are;
- an unknown subcommand or choice is answered with the closest valid one
  (``difflib.get_close_matches``): ``unknown command 'trian'; did you mean 'train'?``;
- an unknown option is reported by the subcommand it was given to, with the closest
  option of that subcommand: ``handgrad train: error: unrecognized arguments: --hiden 3;
  did you mean --hidden?``.

The description and epilog are printed as written (no re-wrapping), so a list of exit
codes keeps its lines. Standard library only: building the parser imports nothing heavy.
"""

from __future__ import annotations

import argparse
import copy


def closest(word: str, candidates) -> str | None:
    """The candidate most like ``word`` (difflib's ratio >= 0.6), or None."""
    import difflib

    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def _shows_default(action: argparse.Action) -> bool:
    """Whether ``--help`` should print the default (0 and 0.0 are shown; None, a flag's
    False and SUPPRESS are not: compared by identity, since ``0 == False``)."""
    return not (action.default is None or action.default is False
                or action.default is argparse.SUPPRESS
                or isinstance(action, argparse._SubParsersAction))


class DefaultsFormatter(argparse.RawDescriptionHelpFormatter):
    """Help text with ``(default: X)`` appended; description and epilog kept as written."""

    def _format_action(self, action):
        if not action.help and _shows_default(action):
            action = copy.copy(action)
            action.help = "(default: %(default)s)"
        return super()._format_action(action)

    def _get_help_string(self, action):
        text = action.help or ""
        if _shows_default(action) and "%(default)" not in text and "default:" not in text:
            text += " (default: %(default)s)"
        return text


class HandgradParser(argparse.ArgumentParser):
    """``ArgumentParser`` with ``DefaultsFormatter`` and "did you mean" suggestions."""

    def __init__(self, *args, formatter_class=DefaultsFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def _check_value(self, action, value):
        if action.choices is None or value in action.choices:
            return
        choices = ", ".join(map(str, action.choices))
        guess = closest(str(value), map(str, action.choices))
        hint = f"; did you mean {guess!r}?" if guess else ""
        if isinstance(action, argparse._SubParsersAction):
            message = f"unknown command {value!r}{hint} (choose from {choices})"
            raise argparse.ArgumentError(None, message)
        raise argparse.ArgumentError(action, f"invalid choice: {value!r}{hint} "
                                             f"(choose from {choices})")

    def error(self, message):
        """One line naming the option and what was wrong, exit 2; the usage block (13 lines
        for ``train``) is ``--help``'s to show, not every mistake's."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def command_parser(self, namespace) -> HandgradParser | None:
        """The sub-parser of the subcommand that ``namespace`` was parsed for, if any."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                name = getattr(namespace, action.dest, None)
                return action.choices.get(name) if name else None
        return None

    def parse_args(self, args=None, namespace=None):
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            owner = self.command_parser(namespace) or self
            owner.error(owner.unrecognized(extras))
        return namespace

    def unrecognized(self, extras: list[str]) -> str:
        """``unrecognized arguments: ...``, with the option closest to the first unknown one."""
        message = "unrecognized arguments: " + " ".join(extras)
        flags = [e.split("=", 1)[0] for e in extras if e.startswith("-") and len(e) > 1]
        options = [o for o in self._option_string_actions if o.startswith("--")]
        for flag in flags:
            guess = closest(flag, options)
            if guess:
                return f"{message}; did you mean {guess}?"
        return message
