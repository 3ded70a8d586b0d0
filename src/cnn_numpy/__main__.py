"""``python -m cnn_numpy`` runs the command-line interface."""

from .tools.cli import main

raise SystemExit(main())
