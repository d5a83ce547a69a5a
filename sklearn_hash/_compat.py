"""Every private scikit-learn name the package uses, imported in this one place.

scikit-learn does not promise these names across releases; when an upgrade
moves one, it is fixed here and nowhere else. The rest of the package imports
them from this module. Checked against scikit-learn 1.9.
"""

from sklearn.base import _fit_context
from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils._plotting import _validate_style_kwargs

__all__ = [
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "StrOptions",
    "_fit_context",
    "_openmp_effective_n_threads",
    "_validate_style_kwargs",
    "check_matplotlib_support",
    "get_chunk_n_rows",
    "validate_parameter_constraints",
    "validate_params",
]
