"""``python -m cnn_numpy`` runs the command-line interface."""

from .cli import main

raise SystemExit(main())
