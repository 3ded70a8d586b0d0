"""What cnn-numpy knows of each dataset: class names, mirrors, the SHA-256 of every file.

The checksums are of the decompressed files, so any faithful copy passes however it was
compressed; they also tell which dataset a file really is (``known_files``), whatever its
name or folder says.
"""

from __future__ import annotations

from dataclasses import dataclass

MNIST_CLASSES = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True)
class DatasetInfo:
    """What we know about a dataset: classes, mirrors, and the SHA-256 of each decompressed file."""

    name: str
    classes: tuple[str, ...]
    mirrors: tuple[str, ...]
    sha256: dict[str, str]
    debian_package: str | None = None


DATASETS = {
    "mnist": DatasetInfo(
        "mnist",
        MNIST_CLASSES,
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's first
            "http://yann.lecun.com/exdb/mnist/",
        ),  # the original
        sha256={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        FASHION_MNIST_CLASSES,
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        sha256={
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        debian_package="dataset-fashion-mnist",
    ),
}


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def known_files() -> dict[str, tuple[str, str]]:
    """``{sha256: (dataset, file stem)}`` of every file of every known dataset."""
    return {
        sha: (info.name, stem) for info in DATASETS.values() for stem, sha in info.sha256.items()
    }
