"""``iterate_minibatches(..., merge_single=True)``: a last batch of one sample joins the one
before it; ``count_batches`` says how many batches come either way."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_numpy.data.batches import count_batches, iterate_minibatches, train_test_split


@pytest.mark.parametrize("n", range(1, 30))
@pytest.mark.parametrize("batch_size", [1, 2, 3, 7, 64])
@pytest.mark.parametrize("merge_single", [False, True])
def test_batches_cover_the_data_once_and_their_count_is_known(n, batch_size, merge_single):
    X, y = np.arange(n * 2.0).reshape(n, 2), np.arange(n)
    batches = list(iterate_minibatches(X, y, batch_size, rng=0, merge_single=merge_single))
    sizes = [len(yb) for _, yb in batches]
    assert len(batches) == count_batches(n, batch_size, merge_single)
    assert sorted(np.concatenate([yb for _, yb in batches])) == list(range(n))
    assert all(len(xb) == len(yb) for xb, yb in batches)
    assert all(s == batch_size for s in sizes[:-1])
    if merge_single and n > 1 and batch_size > 1:
        assert sizes[-1] > 1  # never a batch of one
    elif not merge_single:
        assert sizes[-1] == n - batch_size * (len(sizes) - 1)


def test_a_merged_batch_has_batch_size_plus_one():
    X, y = np.zeros((9, 1)), np.arange(9)
    sizes = [len(yb) for _, yb in iterate_minibatches(X, y, 4, shuffle=False, merge_single=True)]
    assert sizes == [4, 5] and count_batches(9, 4) == 3 and count_batches(9, 4, True) == 2


def test_lists_are_batched_and_split_as_arrays():
    X, y = np.arange(20.0).reshape(10, 2).tolist(), list(range(10))
    batches = list(iterate_minibatches(X, y, 4, rng=0))
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    assert sorted(np.concatenate([yb for _, yb in batches]).tolist()) == y
    (X_train, y_train), (X_test, y_test) = train_test_split(X, y, 0.3, rng=0)
    assert X_train.shape == (7, 2) and sorted([*y_train, *y_test]) == y


def test_shuffle_must_be_a_bool():
    with pytest.raises(ValueError, match="shuffle must be True or False"):
        next(iterate_minibatches(np.zeros((4, 2)), np.zeros(4), 2, shuffle="no"))
