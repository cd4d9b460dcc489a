"""What generated images are worth downstream: recognisers trained or tested on them."""

from ganlab.downstream.classifier import SmallCNN, resnet18
from ganlab.downstream.faces import FaceRecognition
from ganlab.downstream.gan_train_test import GANTrainTest
from ganlab.downstream.lowdata import AugmentLowData

__all__ = ["AugmentLowData", "FaceRecognition", "GANTrainTest", "SmallCNN", "resnet18"]
