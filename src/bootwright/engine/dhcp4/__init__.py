"""DHCPv4 server engine (RFC 2131), sans-I/O: leases, subnets, replies, rate limits."""
