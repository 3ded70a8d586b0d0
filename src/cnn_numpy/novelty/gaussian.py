"""How far is a feature vector from everything seen in training?  Class-conditional
Gaussians with one shared covariance, and the Mahalanobis distance to the nearest class
(Lee et al., "A Simple Unified Framework for Detecting Out-of-Distribution Samples and
Adversarial Attacks", NeurIPS 2018).

    mean_k      = average feature vector of the training images of class k       (C, D)
    covariance  = average of (f - mean_k)(f - mean_k)^T over all of them         (D, D)
    distance(f) = min over k of sqrt((f - mean_k)^T covariance^-1 (f - mean_k))

The distance counts standard deviations along the directions in which the training
features actually vary: a feature vector that moves the way digits never do is far even
if every number in it is ordinary.  About sqrt(D) is typical for a training image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: the covariance gets this share of its mean variance added to its diagonal, so that a
#: direction in which training features never vary (a channel that is always 0) counts
#: as a large distance, not an infinite one
SHRINKAGE = 0.01


@dataclass
class ClassGaussians:
    """Class means and the inverse of their shared covariance, for one feature vector."""

    means: np.ndarray        # (C, D) float64
    precision: np.ndarray    # (D, D) float64: inverse of the shared covariance

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, num_classes: int,
            shrinkage: float = SHRINKAGE) -> ClassGaussians:
        """Shape: features (N, D), labels (N,) ints in [0, num_classes)"""
        f = np.asarray(features, dtype=np.float64)
        labels = np.asarray(labels)
        if f.ndim != 2 or labels.shape != (len(f),):
            raise ValueError(f"ClassGaussians.fit: features (N, D) and labels (N,) expected, "
                             f"got {f.shape} and {labels.shape}")
        counts = np.bincount(labels, minlength=num_classes)[:num_classes]
        if (counts == 0).any():
            raise ValueError(f"ClassGaussians.fit: every class needs training images; none "
                             f"for {np.flatnonzero(counts == 0).tolist()}")
        means = np.zeros((num_classes, f.shape[1]))
        np.add.at(means, labels, f)
        means /= counts[:, None]
        centred = f - means[labels]                      # each image minus its class's mean
        covariance = centred.T @ centred / len(f)        # (D, D), shared by all classes
        ridge = shrinkage * float(np.trace(covariance)) / f.shape[1]
        covariance[np.diag_indices_from(covariance)] += max(ridge, 1e-12)
        precision = np.linalg.inv(covariance)
        return cls(means=means, precision=(precision + precision.T) / 2)

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Mahalanobis distance to the nearest class mean, expanded as
        f^T P f - 2 f^T P mean_k + mean_k^T P mean_k (matrix products, no loop over classes).

        Shape: (N, D) -> (N,) float64
        """
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != self.means.shape[1]:
            raise ValueError(f"novelty: expected features of shape (N, {self.means.shape[1]}), "
                             f"got {f.shape}")
        fp = f @ self.precision                                          # (N, D)
        own = np.einsum("nd,nd->n", fp, f)                               # (N,)
        cross = fp @ self.means.T                                        # (N, C)
        centres = np.einsum("cd,de,ce->c", self.means, self.precision, self.means)  # (C,)
        squared = own[:, None] - 2 * cross + centres[None, :]           # (N, C)
        return np.sqrt(np.maximum(squared.min(axis=1), 0.0))
