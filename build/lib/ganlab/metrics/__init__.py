"""Measured quality: feature extractors, FID/KID/precision-recall, cached reference features."""

from ganlab.metrics.base import FeatureMetric
from ganlab.metrics.evaluator import Evaluator, metric_name
from ganlab.metrics.extractors import FeatureExtractor, InceptionFeatures
from ganlab.metrics.fid import FID
from ganlab.metrics.inception_score import ClassifierIS
from ganlab.metrics.kid import KID
from ganlab.metrics.precision_recall import PrecisionRecall

__all__ = [
    "FID",
    "KID",
    "ClassifierIS",
    "Evaluator",
    "FeatureExtractor",
    "FeatureMetric",
    "InceptionFeatures",
    "PrecisionRecall",
    "metric_name",
]
