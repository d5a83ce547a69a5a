# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Weighted hinge-loss minibatch SGD of one hyperplane (the W step of Lin:V).

No estimator logic: the caller draws the minibatches (so the random stream is
NumPy's) and this loop runs them with the GIL released. Each minibatch
computes every margin with the hyperplane as it was before the minibatch,
then adds the rows whose margin is below 1; the rows are read in place, never
gathered. Inner products and row additions come from ``_sgd.h`` (AVX2 and
FMA where the CPU has them, else portable loops).
"""

import numpy as np

from libc.stdint cimport int64_t

cdef extern from "_sgd.h" nogil:
    float sgd_dot(const float *x, const float *c, int64_t d)
    void sgd_axpy(float a, const float *x, float *c, int64_t d)
    const char *sgd_set_path(const char *name)


def set_path(name):
    """Use ``"auto"`` (AVX2 + FMA where available) or ``"base"``; returns the path."""
    return sgd_set_path(name.encode()).decode()


set_path("auto")


def weighted_hinge_sgd(
    const float[:, ::1] X,
    const float[::1] signs,
    const float[::1] weights,
    float[::1] coef,
    const int64_t[:, :, ::1] batches,
    double step,
):
    """Minimise ``sum_i weights_i max(0, 1 - signs_i X_i . coef)`` in place.

    ``batches[epoch, b]`` holds the rows of minibatch ``b``; the step starts
    at ``step`` and is multiplied by ``1 - epoch / n_epochs`` at each epoch,
    and a row's update is ``step * weights_i / batch_size * signs_i * X_i``
    (float32 factor, as the NumPy formulation of the reference).
    """
    cdef Py_ssize_t n_epochs = batches.shape[0]
    cdef Py_ssize_t n_batches = batches.shape[1]
    cdef Py_ssize_t batch_size = batches.shape[2]
    cdef int64_t d = X.shape[1]
    cdef float[::1] factors = np.empty(batch_size, dtype=np.float32)
    cdef Py_ssize_t epoch, b, t
    cdef int64_t row
    cdef float scale, factor
    with nogil:
        for epoch in range(n_epochs):
            step *= 1.0 - <double>epoch / n_epochs
            scale = <float>(step / batch_size)
            for b in range(n_batches):
                for t in range(batch_size):
                    row = batches[epoch, b, t]
                    factor = 0.0
                    if signs[row] * sgd_dot(&X[row, 0], &coef[0], d) < 1.0:
                        factor = weights[row] * scale * signs[row]
                    factors[t] = factor
                for t in range(batch_size):
                    factor = factors[t]
                    if factor != 0.0:
                        sgd_axpy(factor, &X[batches[epoch, b, t], 0], &coef[0], d)
