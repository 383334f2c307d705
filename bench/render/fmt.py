"""Number formats and Markdown of the rendered pages."""

UNITS = (("_ms", "ms"), ("_us", "µs"), ("_kib", "KiB"), ("_kb", "KiB"),
         ("_s", "s"))


def fmt(v, unit="", nd=None):
    """1,234 / 12.3 / 1.23, with the unit."""
    if v is None:
        return "-"
    if nd is None:
        nd = (0 if unit == "KiB" or abs(v) >= 1000 else 1 if abs(v) >= 10
              else 2)
    s = f"{v:,.{nd}f}"
    return f"{s} {unit}".strip()


def fmt_stats(s, unit=""):
    """median (min-max, n)."""
    if not s:
        return "-"
    if s["n"] == 1:
        return f"{fmt(s['median'], unit)} (n=1)"
    nd = 0 if unit == "KiB" else None
    return "%s (%s-%s, n=%d)" % (fmt(s["median"], unit), fmt(s["min"], "", nd),
                                 fmt(s["max"], "", nd), s["n"])


def fmt_hp(v, unit):
    """The hot-add tables' format: ms below 10 with two decimals, seconds
    from 10 s."""
    if v is None:
        return "—"
    if unit == "cpu":
        return f"{v:,.0f} ms"
    if unit == "ms" and v < 10:
        return f"{v:.2f} ms"
    if unit == "ms" and v >= 10000:
        return f"{v / 1000:.1f} s"
    return f"{v:,.0f} {unit}".strip()


def fmt_g(v):
    """Three significant digits (the real-KVM table)."""
    if v is None:
        return "—"
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def fmt_ratio(r, nd=2):
    return "—" if r is None else f"{r:.{nd}f}x"


def unit_of(key):
    return next((u for suffix, u in UNITS if key.endswith(suffix)), "")


def md_table(head, body):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(out)


def bullets(items):
    return "\n".join(f"- {x}" for x in items) or "- none"
