"""Plain data on the wire: the only shape in which answers leave a student's process.

Plain data is None, bool, int, float, str, lists, dicts, NumPy arrays (numeric, bool or str
dtypes) and pandas DataFrames/Series. :func:`to_wire` turns such a value into JSON-ready data;
:func:`from_wire` turns it back, strictly: exact built-in types only, bounded size and depth,
arrays only of allowed dtypes, never pickle and never an object of the student's classes.

This module uses only the standard library at import time (NumPy and pandas are imported when
an array or frame is met), because its source is also sent into the student's kernel, where it
runs with a private copy of the builtins taken before any student code ran.
"""

import json
import re
import sys
from base64 import b64decode, b64encode

__all__ = ["to_wire", "from_wire", "dumps", "loads", "parse", "MAX_DEPTH", "MAX_ITEMS", "MAX_BYTES"]

MAX_DEPTH = 32
MAX_ITEMS = 2_000_000
MAX_BYTES = 64 * 1024 * 1024
TAG = "__ag__"
_DTYPE = re.compile(r"^[<>|=]?(b1|[iu][1248]|f[248]|U[0-9]{1,6})$")


# --------------------------------------------------------------------------- encoding

def to_wire(value):
    """Convert a plain-data value to JSON-ready data.

    Parameters
    ----------
    value : object
        None, bool, int, float, str, list/tuple, dict, NumPy array or scalar, pandas
        DataFrame or Series, nested in any way up to ``MAX_DEPTH`` levels.

    Returns
    -------
    object
        Data made only of None, bool, int, float, str, list and dict with str keys.

    Raises
    ------
    TypeError
        If the value (or a part of it) is not plain data; the message names its type.
    ValueError
        If the value is nested too deeply or has too many items.
    """
    budget = [MAX_ITEMS]
    return _encode(value, 0, budget)


def _spend(depth, budget):
    """Count one more item against the size and depth bounds both directions share."""
    if depth > MAX_DEPTH:
        raise ValueError(f"the value is nested more than {MAX_DEPTH} levels deep")
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError(f"the value has more than {MAX_ITEMS} items")


def _encode(value, depth, budget):
    _spend(depth, budget)
    scalar = _encode_scalar(value)
    if scalar is not _NOT_SCALAR:
        return scalar
    if isinstance(value, (list, tuple)):
        return [_encode(item, depth + 1, budget) for item in value]
    if isinstance(value, dict):
        return _encode_dict(value, depth, budget)
    numpy, pandas = sys.modules.get("numpy"), sys.modules.get("pandas")
    if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)):
        return _encode_numpy(value)
    if pandas is not None and isinstance(value, (pandas.DataFrame, pandas.Series)):
        return _encode_pandas(value, depth, budget)
    raise TypeError(_unsupported(value))


_NOT_SCALAR = object()


def _encode_scalar(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return value is True
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    return _NOT_SCALAR


def _encode_dict(value, depth, budget):
    keys = list(value.keys())
    if all(type(k) is str for k in keys) and TAG not in keys:
        return {k: _encode(value[k], depth + 1, budget) for k in keys}
    items = []
    for key in keys:
        wire_key = _encode_scalar(key)
        if wire_key is _NOT_SCALAR:
            raise TypeError(f"dict keys must be str, int, float, bool or None, not "
                            f"{type(key).__name__}")
        items.append([wire_key, _encode(value[key], depth + 1, budget)])
    return {TAG: "dict", "items": items}


def _encode_numpy(value):
    import numpy
    if isinstance(value, numpy.generic):
        return _encode_scalar(value.item()) if not isinstance(value, numpy.str_) else str(value)
    if not isinstance(value, numpy.ndarray):
        raise TypeError(_unsupported(value))
    array = numpy.ascontiguousarray(numpy.asarray(value))
    if array.dtype.kind == "O":
        array = _object_array_as_str(array)
    if array.dtype.kind == "c" or array.dtype.kind not in "biufU":
        raise TypeError(f"a NumPy array of dtype {array.dtype} is not plain data; convert it "
                        f"with .astype(float), .astype(int) or .astype(str)")
    array = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return {TAG: "ndarray", "dtype": array.dtype.str, "shape": list(array.shape),
            "data": b64encode(array.tobytes()).decode("ascii")}


def _object_array_as_str(array):
    flat = array.ravel().tolist()
    if all(isinstance(item, str) for item in flat):
        return array.astype(str)
    raise TypeError("a NumPy array of Python objects (dtype=object) is not plain data; "
                    "convert it with .astype(float) or .astype(str)")


def _encode_pandas(value, depth, budget):
    import pandas
    if isinstance(value, pandas.DataFrame):
        return {TAG: "frame",
                "columns": [_encode(c, depth + 1, budget) for c in value.columns.tolist()],
                "index": _encode_column(value.index, depth, budget),
                "data": [_encode_column(value.iloc[:, i], depth, budget)
                         for i in range(value.shape[1])]}
    if isinstance(value, pandas.Series):
        return {TAG: "series", "name": _encode(value.name, depth + 1, budget),
                "index": _encode_column(value.index, depth, budget),
                "data": _encode_column(value, depth, budget)}
    raise TypeError(_unsupported(value))


def _encode_column(column, depth, budget):
    array = column.to_numpy()
    if array.dtype.kind in "biufU":
        return _encode_numpy(array)
    if array.dtype.kind == "O" and all(isinstance(v, str) for v in array.tolist()):
        return _encode_numpy(array.astype(str))
    return [_encode(item, depth + 1, budget) for item in array.tolist()]


def _unsupported(value):
    kind = type(value)
    return (f"a {kind.__module__}.{kind.__qualname__} object is not plain data; tests can only "
            f"read None, bool, int, float, str, lists, dicts, NumPy arrays and pandas frames "
            f"(for a model, the test calls its methods, e.g. model.predict)")


def dumps(value):
    """Encode ``value`` with :func:`to_wire` and serialize it as compact JSON text."""
    text = json.dumps(to_wire(value), separators=(",", ":"), allow_nan=True)
    if len(text) > MAX_BYTES:
        raise ValueError(f"the value takes more than {MAX_BYTES // 2**20} MiB as JSON")
    return text


# --------------------------------------------------------------------------- decoding

def loads(text):
    """Parse JSON text made by :func:`dumps` and rebuild the value with :func:`from_wire`.

    Raises
    ------
    ValueError
        If the text is too long, is not valid JSON, or does not decode to plain data.
    """
    return from_wire(parse(text))


def parse(text):
    """Parse JSON text of bounded length and depth, rejecting duplicate keys.

    Raises
    ------
    ValueError
        If the text is not a str, is too long, too deep or not valid JSON.
    """
    if type(text) is not str or len(text) > MAX_BYTES:
        raise ValueError("the reply is not a string of at most "
                         f"{MAX_BYTES // 2**20} MiB")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError as exc:
        raise ValueError("the reply is nested too deeply") from exc


def _unique_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in the reply")
        result[key] = value
    return result


def from_wire(data):
    """Rebuild a value from data made by :func:`to_wire`, accepting exact types only.

    Parameters
    ----------
    data : object
        JSON-decoded data.

    Returns
    -------
    object
        None, bool, int, float, str, list, dict, ``numpy.ndarray``, ``pandas.DataFrame`` or
        ``pandas.Series``; never a subclass and never an object array.

    Raises
    ------
    ValueError
        If any part is of another type, too deep, too big, or a malformed array or frame.
    """
    return _decode(data, 0, [MAX_ITEMS])


def _decode(data, depth, budget):
    _spend(depth, budget)
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [_decode(item, depth + 1, budget) for item in data]
    if kind is not dict:
        raise ValueError(f"unexpected {kind.__name__} in the reply")
    if TAG not in data:
        return {_exact_str(k): _decode(v, depth + 1, budget) for k, v in data.items()}
    decoder = _TAGGED.get(data[TAG]) if type(data[TAG]) is str else None
    if decoder is None:
        raise ValueError(f"unknown tagged value {data[TAG]!r} in the reply")
    return decoder(data, depth, budget)


def _exact_str(key):
    if type(key) is not str:
        raise ValueError("dict keys in the reply must be str")
    return key


def _fields(data, *names):
    if set(data) != {TAG, *names}:
        raise ValueError(f"a {data[TAG]} in the reply must have exactly the fields {names}")
    return [data[name] for name in names]


def _decode_dict(data, depth, budget):
    (items,) = _fields(data, "items")
    if type(items) is not list:
        raise ValueError("dict items in the reply must be a list")
    result = {}
    for pair in items:
        if type(pair) is not list or len(pair) != 2:
            raise ValueError("dict items in the reply must be [key, value] pairs")
        key = pair[0]
        if not (key is None or type(key) in (bool, int, float, str)):
            raise ValueError("dict keys in the reply must be scalars")
        result[key] = _decode(pair[1], depth + 1, budget)
    return result


def _decode_ndarray(data, depth, budget):
    import numpy
    dtype, shape, payload = _fields(data, "dtype", "shape", "data")
    if type(dtype) is not str or not _DTYPE.match(dtype):
        raise ValueError(f"array dtype {dtype!r} is not allowed (numeric, bool or str only)")
    if (type(shape) is not list or len(shape) > MAX_DEPTH
            or not all(type(n) is int and 0 <= n <= MAX_ITEMS for n in shape)):
        raise ValueError("array shape in the reply is malformed")
    if type(payload) is not str:
        raise ValueError("array data in the reply must be base64 text")
    raw = b64decode(payload.encode("ascii"), validate=True)
    dt = numpy.dtype(dtype)
    count = 1
    for n in shape:
        count *= n
    if count > MAX_ITEMS or count * dt.itemsize != len(raw):
        raise ValueError("array data length does not match its shape and dtype")
    budget[0] -= count
    return numpy.frombuffer(raw, dtype=dt).reshape(shape).astype(dt.newbyteorder("="))


def _decode_column(data, depth, budget):
    import numpy
    value = _decode(data, depth + 1, budget)
    if type(value) is list:
        return value
    if type(value) is not numpy.ndarray or value.ndim != 1:
        raise ValueError("frame columns in the reply must be 1-d arrays or lists")
    return value


def _decode_frame(data, depth, budget):
    import pandas
    columns, index, columns_data = _fields(data, "columns", "index", "data")
    names = _decode_labels(columns, depth, budget)
    index_values = _decode_column(index, depth, budget)
    if type(columns_data) is not list or len(columns_data) != len(names):
        raise ValueError("frame data in the reply must hold one column per name")
    values = [_decode_column(c, depth, budget) for c in columns_data]
    if any(len(v) != len(index_values) for v in values):
        raise ValueError("frame columns in the reply differ in length from the index")
    frame = pandas.DataFrame({i: v for i, v in enumerate(values)},
                             index=pandas.Index(index_values))
    frame.columns = pandas.Index(names) if names else frame.columns
    return frame


def _decode_labels(columns, depth, budget):
    if type(columns) is not list:
        raise ValueError("frame column names in the reply must be a list")
    names = [_decode(c, depth + 1, budget) for c in columns]
    if not all(n is None or type(n) in (bool, int, float, str) for n in names):
        raise ValueError("frame column names in the reply must be scalars")
    return names


def _decode_series(data, depth, budget):
    import pandas
    name, index, values = _fields(data, "name", "index", "data")
    if not (name is None or type(name) in (bool, int, float, str)):
        raise ValueError("a series name in the reply must be a scalar")
    index_values = _decode_column(index, depth, budget)
    column = _decode_column(values, depth, budget)
    if len(column) != len(index_values):
        raise ValueError("series data in the reply differ in length from the index")
    return pandas.Series(column, index=pandas.Index(index_values), name=name)


_TAGGED = {"dict": _decode_dict, "ndarray": _decode_ndarray, "frame": _decode_frame,
           "series": _decode_series}
