"""Is this one of the classes at all?  A novelty score from the network's own features
(class-conditional Gaussians and Mahalanobis distances at several stages, weighed as learned
from outliers made of the training images), fitted on the training images and stored in the
model file, so that ``predict`` can answer "not a digit".  A net too small to carry the check
gets a reader: a LeNet trained beside it, whose features the check reads (``train_reader``).
See docs/novelty.md."""

from .detector import NoveltyDetector, fit_novelty
from .features import Stage, default_stages, stage_features
from .gaussian import ClassGaussians
from .predict import NoveltyPrediction, predict_with_novelty
from .reader import train_reader
from .storage import load_novelty, save_novelty

__all__ = [
    "ClassGaussians",
    "NoveltyDetector",
    "NoveltyPrediction",
    "Stage",
    "default_stages",
    "fit_novelty",
    "load_novelty",
    "predict_with_novelty",
    "save_novelty",
    "stage_features",
    "train_reader",
]
