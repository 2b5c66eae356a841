"""Network layer: the only socket code."""
