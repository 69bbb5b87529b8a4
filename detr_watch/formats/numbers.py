"""Numbers in many lines at once: runs of digits and dots found and converted with numpy.

A console log line holds about 130 numbers; splitting it into tokens and calling `float` on
each costs more than reading the file. These functions work on a whole buffer of lines:
`digit_runs` finds every maximal run of `0123456789.` and `decimals` converts runs to the
float Python's `float()` gives, exactly: a run of at most 15 digits with at most one dot is
an integer below 2**53 divided by a power of ten below 10**22, and IEEE division of two
exactly represented numbers rounds correctly, as `float()` does. Runs outside those limits
are reported as not converted; the caller reads those lines the slow way.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DIGITS_AND_DOT = b"0123456789."
MAX_DIGITS = 15  # 10**15 < 2**53: the mantissa is exact in a float64
_DOT = ord(".")
_ZERO = ord("0")
_POW10 = 10 ** np.arange(MAX_DIGITS + 1, dtype=np.int64)
_FPOW10 = 10.0 ** np.arange(MAX_DIGITS + 1)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ByteArray = npt.NDArray[np.uint8]


def digit_runs(u: ByteArray) -> tuple[IntArray, IntArray]:
    """(starts, ends) of the maximal runs of digits and dots in `u` (end exclusive)."""
    d = np.empty(u.shape[0] + 2, dtype=np.bool_)
    d[0] = d[-1] = False
    body = d[1:-1]
    np.less(u - np.uint8(_ZERO), np.uint8(10), out=body)  # uint8 arithmetic wraps below '0'
    body |= u == _DOT
    edges = np.flatnonzero(d[1:] != d[:-1])
    return edges[0::2], edges[1::2]


def decimals(u: ByteArray, ends: IntArray, lengths: IntArray) -> tuple[FloatArray, BoolArray]:
    """The runs ending at `ends` as floats, and whether each is a number `float()` reads exactly so.

    Every byte of a run is a digit or a dot (as `digit_runs` gives them). A run converts when it
    has one digit or more, at most `MAX_DIGITS` digits and at most one dot.
    """
    mant, digits, frac, dots = _scan(u, ends, lengths)
    ok = (digits >= 1) & (digits <= MAX_DIGITS) & (dots <= 1) & (lengths <= MAX_DIGITS + 1)
    values = mant.astype(np.float64) / _FPOW10[np.minimum(frac, MAX_DIGITS)]
    return values, ok


def integers(
    u: ByteArray, ends: IntArray, lengths: IntArray, max_digits: int = 9
) -> tuple[IntArray, BoolArray]:
    """The runs ending at `ends` as integers, and whether each is all digits (1 to `max_digits`)."""
    mant, digits, _, dots = _scan(u, ends, lengths)
    return mant, (digits >= 1) & (digits <= max_digits) & (dots == 0) & (lengths <= max_digits)


def _scan(u: ByteArray, ends: IntArray, lengths: IntArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Right to left over every run at once: mantissa, digit count, digits after the dot, dots.

    Only the last `MAX_DIGITS + 1` bytes of a run are looked at: a longer run is no exact number.
    One column of bytes at a time keeps the arrays as long as the runs are many, small enough for
    the CPU's cache; a matrix of all columns at once measured slower.
    """
    n = ends.shape[0]
    mant = np.zeros(n, dtype=np.int64)
    digits = np.zeros(n, dtype=np.int64)
    frac = np.zeros(n, dtype=np.int64)
    dots = np.zeros(n, dtype=np.int64)
    width = min(int(lengths.max()), MAX_DIGITS + 1) if n else 0
    pos = ends - 1
    for p in range(width):
        live = lengths > p
        c = u[np.maximum(pos, 0)]
        pos -= 1
        is_dot = live & (c == _DOT)
        is_digit = live ^ is_dot
        # Past MAX_DIGITS the run fails anyway: clamp the power instead of overflowing.
        power = _POW10[np.minimum(digits, MAX_DIGITS)]
        mant += np.where(is_digit, (c.astype(np.int64) - _ZERO) * power, 0)
        frac = np.where(is_dot & (dots == 0), digits, frac)
        digits += is_digit
        dots += is_dot
    return mant, digits, frac, dots
