"""The systemd unit shipped with bootwright (``bootwright systemd-unit`` prints it)."""
