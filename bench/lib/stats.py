"""Medians and ratios of measured figures (None means not measured)."""
import statistics


def values(xs):
    return [x for x in xs if isinstance(x, (int, float))
            and not isinstance(x, bool)]


def stats(xs):
    """{n, median, min, max} of the measured values, None if there are none."""
    v = values(xs)
    if not v:
        return None
    return {"n": len(v), "median": statistics.median(v), "min": min(v),
            "max": max(v)}


def median(xs):
    v = values(xs)
    return statistics.median(v) if v else None


def percentile90(xs):
    """The value 90 % of the way up the sorted list (no interpolation)."""
    v = sorted(values(xs))
    return v[(len(v) * 9) // 10] if v else None


def ratio(a, b):
    """a / b, or None when either is missing or b is not positive."""
    if a is None or b is None or b <= 0:
        return None
    return a / b
