"""Fetching portal pages as a benchmark sees them: time, bytes, and whether the answer was real.

A page counts as an error when it isn't a 200, or when it is a 200 that shows the engine
banner ("Docker engine unavailable" without `hidden`): the portal answers that way when its
own engine call failed, so under load a fast page can be an empty one.
"""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

BANNER_TEXT = "Docker engine unavailable"
BANNER_TAG = re.compile(r'<[a-z]+\b[^>]*\bid="engine-banner"[^>]*>', re.S)
HIDDEN = re.compile(r"\shidden(?=[\s>=/])")
PAGE_TIMEOUT = 120  # s: at 10,000 containers a page may legitimately take many seconds


@dataclass(frozen=True)
class Fetched:
    seconds: float
    size: int  # bytes of the body
    status: int | None  # None: no answer (timeout, refused)
    banner: bool  # the engine banner is shown

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.banner


def engine_banner_shown(html: str) -> bool:
    tag = BANNER_TAG.search(html)
    if tag is None:
        # The layout changed: the banner's words on the page are the next best sign.
        return BANNER_TEXT in html
    return HIDDEN.search(tag.group(0)) is None


def fetch(http: requests.Session, url: str) -> Fetched:
    """GET the whole body; redirects aren't followed (a bounce to /login/ is an error)."""
    started = time.perf_counter()
    try:
        response = http.get(url, timeout=PAGE_TIMEOUT, allow_redirects=False)
        body = response.content
    except requests.RequestException:
        return Fetched(time.perf_counter() - started, 0, None, False)
    seconds = time.perf_counter() - started
    banner = engine_banner_shown(body.decode(errors="replace"))
    return Fetched(seconds, len(body), response.status_code, banner)


def concurrent_users(
    sessions: list[requests.Session], url: str, per_user: int
) -> tuple[list[Fetched], float]:
    """Each session (one logged-in user) GETs `url` `per_user` times in a row, all users at
    once. Returns every answer and the wall time from the common start to the last answer."""
    start = threading.Barrier(len(sessions))

    def user(http: requests.Session) -> list[Fetched]:
        start.wait()
        return [fetch(http, url) for _ in range(per_user)]

    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        began = time.perf_counter()
        answers = [f for got in pool.map(user, sessions) for f in got]
        wall = time.perf_counter() - began
    return answers, wall


def rss_mib(pid: int) -> tuple[float, float]:
    """(resident set size, its peak) of a process, in MiB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return fields["VmRSS"], fields["VmHWM"]


# Navigation timing of the page just loaded, and how many elements it has.
LOAD_FIGURES = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return {
    load: nav.loadEventEnd,
    dom: nav.domContentLoadedEventEnd,
    elements: document.getElementsByTagName("*").length,
  };
}
"""


def browser_load(page, url: str) -> dict:
    """Load `url` in Chromium; {load, dom (ms from navigation start), elements}."""
    page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT * 1000)
    return page.evaluate(LOAD_FIGURES)
