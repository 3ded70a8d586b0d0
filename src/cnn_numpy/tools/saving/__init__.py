"""Keeping what you trained: model files (no pickle), training checkpoints, run folders."""

from .model_files import ModelFileError, load, load_card, save

__all__ = ["ModelFileError", "load", "load_card", "save"]
