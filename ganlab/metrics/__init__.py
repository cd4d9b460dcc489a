"""Measured quality: feature extractors, FID/KID/precision-recall, cached reference features."""

from ganlab.metrics.base import FeatureMetric, ModelMetric
from ganlab.metrics.evaluator import Evaluator, metric_name
from ganlab.metrics.extractors import FeatureExtractor, InceptionFeatures
from ganlab.metrics.fid import FID
from ganlab.metrics.inception_score import ClassifierIS
from ganlab.metrics.kid import KID
from ganlab.metrics.nll import NLL
from ganlab.metrics.precision_recall import PrecisionRecall

__all__ = [
    "FID",
    "KID",
    "NLL",
    "ClassifierIS",
    "Evaluator",
    "FeatureExtractor",
    "FeatureMetric",
    "InceptionFeatures",
    "ModelMetric",
    "PrecisionRecall",
    "metric_name",
]
