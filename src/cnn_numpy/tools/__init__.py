"""The tools around the core: each folder is one tool, and each uses the core, never the reverse.

- ``cli/``          the ``cnn-numpy`` command
- ``live/``         the page where you draw a digit and watch every layer (``serve``, ``train --live``)
- ``doctor/``       when training goes wrong: ``diagnose`` and the training ``Monitor``
- ``novelty/``      "not a digit": the check that an input is like the training images
- ``visualize/``    pictures and reports: curves, filters, feature maps, mistakes, report.html
- ``photos/``       your own photos and drawings, prepared like MNIST
- ``speed/``        speed beyond the layers: every core (``DataParallel``), no page faults
- ``saving/``       files: model files without pickle, checkpoints, run folders
- ``onnx_export/``  carrying a model elsewhere: ONNX export
- ``explain/``      asking it why (saliency, Grad-CAM, occlusion, integrated gradients) and
                    fooling it (FGSM, PGD, adversarial training): ``cnn_numpy.explain``
- ``progress.py``   what ``fit`` reports as it trains: the bar, the epoch line (callbacks)

Nothing here is needed to read the core (``cnn_numpy/layers``, ``losses.py``, ``optim.py``,
``model.py``, ``train.py``, ...).
"""
