"""The TFTP service: sockets, the dispatcher, the native lock-step pump, uploads (docs/tftp.md)."""
