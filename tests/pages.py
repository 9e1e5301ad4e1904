"""Reading rendered pages in tests as a person would."""

import html
import re


def text(response) -> str:
    """The page as a reader sees it: tags dropped, whitespace collapsed."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", response.content.decode()))
    return " ".join(plain.split())


def shown_messages(response) -> list[str]:
    """The flash messages on the page (success and errors), unescaped."""
    return [
        html.unescape(m)
        for m in re.findall(r'<li class="message [^"]*">(.*?)</li>', response.content.decode())
    ]


def every_page(*, container: str, image: str, volume: str, network: str, job: str) -> list[str]:
    """The portal's pages, each once, for crawling tests (CSP, widths): every list and form,
    and the pages of the given objects (`image` already URL-quoted, `job` a path)."""
    return [
        "/",
        "/dashboard/prune/containers/",
        "/dashboard/prune/build-cache/",
        "/containers/",
        f"/containers/{container}/",
        f"/containers/{container}/overview/",
        f"/containers/{container}/inspect/",
        f"/containers/{container}/terminal/",
        f"/containers/{container}/stats/",
        f"/containers/{container}/processes/",
        f"/containers/{container}/settings/",
        f"/containers/{container}/remove/",
        "/containers/new/",
        "/containers/new/?q=busybox",
        f"/containers/new/advanced/?image={image}",
        "/images/",
        f"/images/view/{image}/",
        "/images/pull/",
        "/images/build/",
        "/images/registries/",
        "/images/prune/",
        f"/images/remove/{image}/",
        "/volumes/",
        "/volumes/new/",
        "/volumes/prune/",
        f"/volumes/{volume}/files/",
        f"/volumes/{volume}/remove/",
        "/networks/",
        f"/networks/{network}/",
        "/networks/new/",
        f"/networks/{network}/remove/",
        "/jobs/",
        job,
        "/audit/",
    ]
