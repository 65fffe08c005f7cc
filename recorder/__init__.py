"""The station: frame sources, scanning, the clip controller, encoding and sealing."""
