"""The images list's filters (base / dangling / unused / in use), from the live model alone:
summaries and usage counts, no engine call per image, so they cost the same with many images."""

from collections.abc import Callable

# URL value → (label, test on (image summary, containers using it)).
FILTERS: dict[str, tuple[str, Callable]] = {
    "base": ("Base images", lambda image, used: image.base),
    "dangling": ("Dangling", lambda image, used: image.dangling),
    "unused": ("Unused", lambda image, used: used == 0),
    "in-use": ("In use", lambda image, used: used > 0),
}
PARAM = "show"


def chosen(params) -> str:
    """The filter a request asks for; "" (all images) for anything unknown."""
    value = params.get(PARAM, "")
    return value if value in FILTERS else ""


def keep(images, usage: dict[str, int], name: str) -> list:
    """The images the filter `name` shows ("" shows all)."""
    if not name:
        return list(images)
    test = FILTERS[name][1]
    return [image for image in images if test(image, usage.get(image.id, 0))]


def choices(images, usage: dict[str, int]) -> list[tuple[str, str, int]]:
    """(value, label, how many images) for each filter, "All" first: one pass per filter over
    summaries already in memory."""
    images = list(images)
    counted = [("", "All", len(images))]
    for name, (label, test) in FILTERS.items():
        counted.append((name, label, sum(1 for i in images if test(i, usage.get(i.id, 0)))))
    return counted
