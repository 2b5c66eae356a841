"""DHCPv6 server engine (RFC 8415), sans-I/O: client facts, decoding, leases, replies."""
