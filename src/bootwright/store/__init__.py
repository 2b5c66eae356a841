"""State store: leases, hosts and events."""
