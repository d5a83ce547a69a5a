import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_hash import pack_bits, unpack_bits
from sklearn_hash._bits import hamming_kneighbors_reference, n_bytes
from sklearn_hash.metrics._base import _hamming_distances


@pytest.mark.parametrize("nbits", [1, 7, 8, 9, 63, 64, 65, 129])
def test_pack_unpack_roundtrip_and_padding(nbits):
    rng = np.random.default_rng(nbits)
    bits = rng.integers(0, 2, size=(20, nbits))
    codes = pack_bits(bits)
    assert codes.dtype == np.uint8 and codes.flags.c_contiguous
    assert codes.shape == (20, n_bytes(nbits))
    np.testing.assert_array_equal(unpack_bits(codes, nbits), bits)
    # padding bits (beyond nbits in the last byte) are zero
    full = np.unpackbits(codes, axis=1, bitorder="little")
    assert not full[:, nbits:].any()


def test_bit_order_is_little_as_faiss():
    # bit i lives in byte i // 8 at position i % 8
    for i in range(24):
        bits = np.zeros((1, 24), dtype=bool)
        bits[0, i] = True
        codes = pack_bits(bits)
        expected = np.zeros(3, dtype=np.uint8)
        expected[i // 8] = 1 << (i % 8)
        np.testing.assert_array_equal(codes[0], expected)


def test_pack_bits_rejects_non_2d():
    with pytest.raises(ValueError, match="2-D"):
        pack_bits(np.ones(5))


def test_unpack_bits_rejects_wrong_width():
    with pytest.raises(ValueError, match="shape"):
        unpack_bits(np.zeros((2, 3), dtype=np.uint8), nbits=9)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 30),
    st.integers(1, 100),
    st.integers(0, 2**32 - 1),
)
def test_reference_distance_is_count_of_differing_bits(n_q, n_db, nbits, seed):
    rng = np.random.default_rng(seed)
    qb = rng.integers(0, 2, (n_q, nbits))
    db = rng.integers(0, 2, (n_db, nbits))
    expected = (qb[:, None, :] != db[None, :, :]).sum(axis=2)
    np.testing.assert_array_equal(
        _hamming_distances(pack_bits(qb), pack_bits(db)), expected
    )


def test_reference_knn_orders_ties_by_index():
    db = pack_bits([[1, 0], [0, 1], [1, 0], [0, 0], [1, 1]])
    q = pack_bits([[1, 0]])
    d, i = hamming_kneighbors_reference(q, db, 5)
    np.testing.assert_array_equal(i, [[0, 2, 3, 4, 1]])
    np.testing.assert_array_equal(d, [[0, 0, 1, 1, 2]])
