"""Carrying a model elsewhere: ``export_onnx`` writes a ``Sequential`` as an ONNX file
(needs the ``onnx`` package; onnxruntime checks it in the tests)."""

from .to_onnx import export_onnx

__all__ = ["export_onnx"]
