"""packseal benchmarks: `python -m bench NAME [args]`; each prints its figures."""
