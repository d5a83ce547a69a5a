"""Plotting in scikit-learn's Display style; matplotlib is imported only to draw."""

from ._precision_recall import HammingPrecisionRecallDisplay
from ._recall_curve import RecallAtRDisplay
from ._recall_speed import RecallSpeedDisplay

__all__ = ["HammingPrecisionRecallDisplay", "RecallAtRDisplay", "RecallSpeedDisplay"]
