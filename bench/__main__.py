"""Run one benchmark: ``python -m bench NAME [ARGS...]`` (``python -m bench`` lists them).

Every benchmark is a module ``bench/<name>.py`` with ``main(argv) -> int`` and a
docstring whose first line says what it measures. Each prints its figures, and ratios
against a baseline measured in the same run, so numbers from different machines are
comparable; bench/README.md records the figures measured on the development machine.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def _benchmarks() -> dict[str, str]:
    out = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if hasattr(module, "main"):
            out[info.name] = (module.__doc__ or "").strip().splitlines()[0]
    return out


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m bench NAME [ARGS...]\n\nbenchmarks:")
        for name, doc in sorted(_benchmarks().items()):
            print(f"  {name:12} {doc}")
        return 0
    name, *rest = argv
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError:
        print(f"error: no benchmark {name!r}; `python -m bench` lists them", file=sys.stderr)
        return 2
    return int(module.main(rest))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
