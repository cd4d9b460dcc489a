"""LightningDataModules: every item is (image in [-1, 1] as float32 C x S x S, target).

The unpaired ones (CycleGAN) yield (image_a, image_b) instead; `.domain("A")` is one domain alone.
"""

from ganlab.data.base import ImageDataModule, LabelSpec
from ganlab.data.celeba import CelebADataModule
from ganlab.data.celeba_unpaired import CelebAUnpairedDataModule
from ganlab.data.folder import FolderDataModule
from ganlab.data.mnist import MNISTDataModule
from ganlab.data.mnist_unpaired import MNISTUnpairedDataModule
from ganlab.data.unpaired import DomainView, UnpairedDataModule, UnpairedDataset
from ganlab.data.unpaired_folder import UnpairedFolderDataModule

__all__ = [
    "CelebADataModule",
    "CelebAUnpairedDataModule",
    "DomainView",
    "FolderDataModule",
    "ImageDataModule",
    "LabelSpec",
    "MNISTDataModule",
    "MNISTUnpairedDataModule",
    "UnpairedDataModule",
    "UnpairedDataset",
    "UnpairedFolderDataModule",
]
