"""Evaluation of neighbour search: recall measures."""

from ._curves import hamming_precision_recall_curve, precision_recall_at_radius
from ._ranking import hamming_mean_average_precision, pooled_average_precision
from ._recall import one_recall_at_r, recall_at_k, recall_at_r_curve
from ._scorers import make_recall_scorer

__all__ = [
    "hamming_mean_average_precision",
    "hamming_precision_recall_curve",
    "make_recall_scorer",
    "one_recall_at_r",
    "pooled_average_precision",
    "precision_recall_at_radius",
    "recall_at_k",
    "recall_at_r_curve",
]
