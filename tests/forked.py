"""Processes forked from a server that imported packseal once: `packseal` commands, or a
test's own writer (tests/storage/appender.py).

A fresh interpreter spends 0.6-2 s importing (storage ~0.6 s, `python -m packseal`
1.3-2 s; measured on a 2-core machine); the tests that start a station, a hub or a writer
again and again to SIGKILL it paid that every time. A forked process is as much a process
of its own (its pid, memory and descriptors; SIGKILL ends it mid-write the same way), and
runs the command from ``main`` on, as the script does. The installed script itself, a
fresh interpreter outside the repository, is tested in tests/packseal/test_config_files.py.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from multiprocessing import connection, popen_forkserver
from multiprocessing.context import ForkServerProcess
from multiprocessing.process import BaseProcess
from pathlib import Path

from packseal.cli import main

ROOT = Path(__file__).resolve().parents[1]
# What `record` and `serve` (a hub's too) import, storage with them; the rest is imported
# in each child.
PRELOAD = [
    "tests.forked",
    "packseal.cli",
    "packseal._cli_station",
    "packseal._cli_web",
    "packseal.hub",
    "packseal.hub.portal",
]
_STARTING = threading.Lock()  # tests start processes from several threads (test_crash.py)
_READING = threading.Lock()  # one reader at a time of an exit code (_Popen)


def packseal_process(
    args: Sequence[str], *, output: Path | None = None, env: Mapping[str, str] | None = None
) -> BaseProcess:
    """``packseal ARGS`` as a started process: stdout and stderr appended to ``output``
    (default /dev/null), the environment replaced by ``env`` if given. Its ``exitcode``
    is the command's exit code, or ``-signal`` if killed."""
    return forked(main, list(args), output=output, env=env)


def forked(
    target: Callable[..., int | None],
    *args: object,
    output: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> BaseProcess:
    """``target(*args)`` as a started process, as :func:`packseal_process` runs ``main``;
    ``target`` is a module-level function (the child imports its module by name)."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
    proc = _Process(target=_run, args=(target, args, output, env), daemon=True)
    with _STARTING, _root_on_pythonpath():
        proc.start()
    return proc


class _Popen(popen_forkserver.Popen):
    """The forkserver writes a child's exit code once, to a pipe. Every ``start`` polls all
    the children not yet known to have ended (multiprocessing.process._cleanup), from the
    starting thread; a poll that found the pipe readable in one thread and read it after
    another thread had emptied it took the closed pipe for a dead forkserver and set the
    exit code to 255 (a SIGKILLed station "exited with 255" in tests/recorder/test_crash.py;
    4 threads each starting, killing and joining 40 sleeping children: 5 of 480 exit codes
    were 255, and 0 of 960 with this). Reading under one lock ends it; waiting for the pipe
    is still done outside it."""

    def poll(self, flag: int = os.WNOHANG) -> int | None:
        if flag != os.WNOHANG and self.returncode is None:
            connection.wait([self.sentinel])
        with _READING:
            return super().poll(os.WNOHANG)


class _Process(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: BaseProcess) -> _Popen:
        return _Popen(process_obj)


@contextmanager
def _root_on_pythonpath() -> Iterator[None]:
    """The server, started by the first ``start``, is a `python -c` that finds this module
    (its children's entry point) on PYTHONPATH, whichever directory pytest runs in; it
    takes the environment as it is then."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), before) if p)
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before


def _run(
    target: Callable[..., int | None],
    args: tuple[object, ...],
    output: Path | None,
    env: Mapping[str, str] | None,
) -> None:
    fd = os.open(output or os.devnull, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    sys.exit(target(*args))
