"""Sans-I/O protocol engines: bytes and ``now`` in, replies and deadlines out."""
