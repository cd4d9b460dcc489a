"""LightningDataModules: every item is (image in [-1, 1] as float32 C x S x S, target)."""

from ganlab.data.base import ImageDataModule
from ganlab.data.celeba import CelebADataModule
from ganlab.data.folder import FolderDataModule
from ganlab.data.mnist import MNISTDataModule

__all__ = ["CelebADataModule", "FolderDataModule", "ImageDataModule", "MNISTDataModule"]
