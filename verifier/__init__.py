"""The checks: fMP4 parsing, bundles, offline verification, store audit, replay, sheets."""
