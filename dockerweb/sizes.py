"""Byte counts for people, in one unit system everywhere: the docker CLI's (SI, base 1000:
`1.98 MB`, `512 kB`, `12 B`), so a size on a page reads the same as in `docker images`.
static/js/sizes.js writes the same in the browser (job progress, live stats)."""

UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def human_size(size: int | float | None) -> str:
    """`None` → "—"; otherwise three significant digits and the unit."""
    if size is None:
        return "—"
    value = float(size)
    sign = "-" if value < 0 else ""
    value = abs(value)
    unit = 0
    while value >= 999.5 and unit < len(UNITS) - 1:
        value /= 1000
        unit += 1
    if unit == 0:
        return f"{sign}{int(value)} B"
    return f"{sign}{value:.3g} {UNITS[unit]}"
