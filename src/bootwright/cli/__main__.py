"""``python -m bootwright.cli`` runs the command line (the lab starts servers this way)."""

from bootwright.cli.main import main

main()
