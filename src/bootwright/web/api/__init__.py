"""The REST API under ``/api`` (docs/api.md): routes, auth, hosts, state."""
