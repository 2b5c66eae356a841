"""The aiohttp application: boot files, per-host scripts, API."""
