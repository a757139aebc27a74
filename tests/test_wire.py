"""The plain-data wire format: exact round trips and strict rejection."""

import json

import numpy as np
import pandas as pd
import pytest

from autograder.judging import wire


class Sneaky(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


@pytest.mark.parametrize("value", [None, True, 3, 2.5, "x", [1, [2, "a"]], {"a": 1},
                                   {1: "b", None: 2.0}, {"__ag__": 1}])
def test_round_trip_of_builtins(value):
    assert wire.loads(wire.dumps(value)) == value


def test_arrays_frames_and_series_round_trip():
    array = np.arange(6, dtype=np.int32).reshape(2, 3)
    back = wire.loads(wire.dumps(array))
    assert type(back) is np.ndarray and back.dtype == np.int32 and np.array_equal(back, array)
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=["r", "s"])
    pd.testing.assert_frame_equal(wire.loads(wire.dumps(frame)), frame, check_dtype=False)
    series = pd.Series([1.5, 2.5], name="s")
    pd.testing.assert_series_equal(wire.loads(wire.dumps(series)), series, check_index_type=False)


def test_subclasses_arrive_as_exact_builtins():
    value = wire.loads(wire.dumps([Sneaky(1.0), np.float64(2.0), np.array([1.0]).view(
        type("A", (np.ndarray,), {}))]))
    assert [type(v) for v in value] == [float, float, np.ndarray]
    assert value[0] != 2.0


@pytest.mark.parametrize("value, words", [
    (object(), "builtins.object object is not plain data"),
    (np.array([1, object()], dtype=object), "dtype=object"),
    ({1, 2}, "builtins.set object is not plain data"),
    (np.array([1j]), "complex128 is not plain data"),
])
def test_non_plain_values_are_refused(value, words):
    with pytest.raises(TypeError, match=words):
        wire.dumps(value)


@pytest.mark.parametrize("text, words", [
    ('{"__ag__": "ndarray", "dtype": "|O8", "shape": [1], "data": "AAAAAAAAAAA="}',
     "not allowed"),
    ('{"__ag__": "ndarray", "dtype": "<f8", "shape": [2], "data": "AAAAAAAAAAA="}',
     "does not match"),
    ('{"__ag__": "pickle", "data": ""}', "unknown tagged value"),
    ('{"a": 1, "a": 2}', "duplicate key"),
    ("[" * 100 + "]" * 100, "nested more than"),
])
def test_strict_decoding(text, words):
    with pytest.raises(ValueError, match=words):
        wire.loads(text)


def test_size_is_bounded(monkeypatch):
    monkeypatch.setattr(wire, "MAX_BYTES", 10)
    with pytest.raises(ValueError, match="at most"):
        wire.loads(json.dumps("x" * 20))
