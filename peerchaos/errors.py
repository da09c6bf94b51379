"""User-facing errors: each carries one line that names what is wrong and where.

The CLI and the Chaos Toolkit activities print `str(error)` and nothing else, so a
person sees the object, the limit and what was seen — never a traceback.
"""


class PeerchaosError(Exception):
    """An error meant for the person running peerchaos; its message is one line."""

    exit_code = 1


class SpecError(PeerchaosError):
    """The ensemble spec (or an argument standing for part of it) is invalid."""

    exit_code = 2


class UsageError(PeerchaosError):
    """A bad argument: unknown pod, unknown target, unsupported fault."""

    exit_code = 2


class UnsupportedFault(UsageError):
    """The runtime cannot inject this fault (e.g. partitions without root)."""


class RunDirError(PeerchaosError, ValueError):
    """A run directory's file is missing, torn or of the wrong shape (`file:line: ...`).

    Also a ValueError: to a reader it is a value it cannot use."""

    exit_code = 2


class RuntimeNotRunning(PeerchaosError):
    """There is no ensemble in the given state dir."""

    exit_code = 2
