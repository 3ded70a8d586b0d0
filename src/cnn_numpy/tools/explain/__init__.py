"""Ask the model why: saliency, Grad-CAM, occlusion, integrated gradients, and the images
that fool it (FGSM, PGD), each "one more backward pass, to the input".

    ../input_gradients/   gradient_to_input(): forward, then the layers' own backward to
                     the images; explaining(): eval mode, parameters' grads left alone;
                     saliency (there, below visualize, whose report draws it too)
    gradients.py     integrated_gradients (+ completeness_error)
    gradcam.py       grad_cam at one layer's resolution (map_layer: the last map over 1x1)
    occlusion.py     occlusion: hide a square, watch the probability drop
    attacks.py       fgsm, pgd (+ pixel_units for standardised inputs)
    class_image.py   class_image: gradient ascent on a class's logit
    sanity.py        sanity_check: saliency as the weights are re-initialised from the top
    adversarial.py   AdversarialTraining: fit's model and loss for FGSM / PGD training
    figures.py       the pictures of ``cnn-numpy explain`` and ``cnn-numpy attack``

Importable as ``cnn_numpy.explain``.  See docs/why-did-it-say-7.md.
"""

from ..input_gradients import saliency
from .adversarial import AdversarialEpoch, AdversarialTraining
from .attacks import fgsm, pgd, pixel_units
from .class_image import class_image
from .gradcam import grad_cam, map_layer
from .gradients import completeness_error, integrated_gradients
from .occlusion import occlusion
from .sanity import rank_correlation, sanity_check

__all__ = [
    "saliency",
    "grad_cam",
    "map_layer",
    "occlusion",
    "integrated_gradients",
    "completeness_error",
    "fgsm",
    "pgd",
    "pixel_units",
    "class_image",
    "sanity_check",
    "rank_correlation",
    "AdversarialTraining",
    "AdversarialEpoch",
]
