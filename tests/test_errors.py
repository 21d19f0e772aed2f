"""The base layer's errors and the one integer check."""

import numpy as np
import pytest

from keras_motifs.errors import KerasMotifsError, check_integer


@pytest.mark.parametrize(
    ("value", "kwargs"),
    [(1, {}), (7, {}), (0, {"minimum": 0}), (-3, {"minimum": None}), (np.int64(2), {"types": (int, np.integer)})],
)
def test_an_integer_in_range_comes_back_unchanged(value, kwargs):
    assert check_integer(value, "n", **kwargs) is value


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        (0, {}, "n must be a positive integer, got 0"),
        (True, {}, "n must be a positive integer, got True"),
        (2.0, {}, "n must be a positive integer, got 2.0"),
        ("3", {}, "n must be a positive integer, got '3'"),
        (np.int64(2), {}, f"n must be a positive integer, got {np.int64(2)!r}"),
        (-1, {"minimum": 0}, "n must be an integer >= 0, got -1"),
        (False, {"minimum": None}, "n must be an integer, got False"),
        (2, {"minimum": 3}, "n must be an integer >= 3, got 2"),
        (-1, {"minimum": 0, "requirement": "a non-negative integer"}, "n must be a non-negative integer, got -1"),
    ],
)
def test_anything_else_is_refused_in_the_callers_words(value, kwargs, message):
    with pytest.raises(KerasMotifsError) as caught:
        check_integer(value, "n", **kwargs)
    assert str(caught.value) == message


def test_the_error_type_is_the_callers():
    with pytest.raises(ValueError, match="^every must be a positive integer, got 0$") as caught:
        check_integer(0, "every", error=ValueError)
    assert type(caught.value) is ValueError
