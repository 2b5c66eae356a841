"""TFTP engine (RFC 1350, 2347-2349, 7440), sans-I/O: transfers, paths, sources, uploads."""
