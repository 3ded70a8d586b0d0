"""How far is a feature vector from everything seen in training?  One Gaussian per class,
and the Mahalanobis distance to the nearest class (after Lee et al., "A Simple Unified
Framework for Detecting Out-of-Distribution Samples and Adversarial Attacks", NeurIPS 2018).

    mean_k       = average feature vector of the training images of class k          (C, D)
    covariance_k = average of (f - mean_k)(f - mean_k)^T over class k's images        (C, D, D)
    distance(f)  = min over k of sqrt((f - mean_k)^T covariance_k^-1 (f - mean_k))

The distance counts standard deviations along the directions in which a class's training
features actually vary: a feature vector that moves the way that digit never does is far
even if every number in it is ordinary.  About sqrt(D) is typical for a training image.

Lee et al. share one covariance between the classes; giving each class its own measured
better on photographed non-digits (86.5% refused instead of 83.1%, with the same 1% of real
digits refused; benchmarks/photos.py's kinds, 150 of each), and costs nothing at this size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: each covariance gets this share of its mean variance added to its diagonal, so that a
#: direction in which training features never vary (a channel that is always 0) counts
#: as a large distance, not an infinite one
SHRINKAGE = 0.01


@dataclass
class ClassGaussians:
    """Each class's mean and the inverse of its covariance, for one feature vector."""

    means: np.ndarray  # (C, D) float64
    precisions: np.ndarray  # (C, D, D) float64: inverse of each class's covariance

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        labels: np.ndarray,
        num_classes: int,
        shrinkage: float = SHRINKAGE,
    ) -> ClassGaussians:
        """Shape: features (N, D), labels (N,) ints in [0, num_classes)"""
        f = np.asarray(features)  # each class made float64 on its own: no copy of them all
        labels = np.asarray(labels)
        if f.ndim != 2 or labels.shape != (len(f),):
            raise ValueError(
                f"ClassGaussians.fit: features (N, D) and labels (N,) expected, "
                f"got {f.shape} and {labels.shape}"
            )
        counts = np.bincount(labels, minlength=num_classes)[:num_classes]
        if (counts < 2).any():
            raise ValueError(
                f"ClassGaussians.fit: every class needs training images (two at "
                f"least); too few for {np.flatnonzero(counts < 2).tolist()}"
            )
        d = f.shape[1]
        means, precisions = np.zeros((num_classes, d)), np.zeros((num_classes, d, d))
        for k in range(num_classes):
            own = f[labels == k].astype(np.float64)
            means[k] = own.mean(axis=0)
            centred = own - means[k]
            covariance = centred.T @ centred / len(own)  # (D, D)
            ridge = shrinkage * float(np.trace(covariance)) / d
            covariance[np.diag_indices(d)] += max(ridge, 1e-12)
            precision = np.linalg.inv(covariance)
            precisions[k] = (precision + precision.T) / 2  # symmetric
        return cls(means=means, precisions=precisions)

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Mahalanobis distance to the nearest class mean, each class with its own
        covariance.  Shape: (N, D) -> (N,) float64"""
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != self.means.shape[1]:
            raise ValueError(
                f"novelty: expected features of shape (N, {self.means.shape[1]}), got {f.shape}"
            )
        squared = np.empty((len(f), len(self.means)))  # (N, C)
        for k, (mean, precision) in enumerate(zip(self.means, self.precisions)):
            diff = f - mean  # (N, D)
            squared[:, k] = ((diff @ precision) * diff).sum(axis=1)  # diffᵀ P diff, by GEMM
        return np.sqrt(np.maximum(squared.min(axis=1), 0.0))
