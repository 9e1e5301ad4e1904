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
        "/engines/local/",
        "/engines/local/dashboard/prune/containers/",
        "/engines/local/dashboard/prune/build-cache/",
        "/engines/local/containers/",
        f"/engines/local/containers/{container}/",
        f"/engines/local/containers/{container}/overview/",
        f"/engines/local/containers/{container}/inspect/",
        f"/engines/local/containers/{container}/terminal/",
        f"/engines/local/containers/{container}/stats/",
        f"/engines/local/containers/{container}/processes/",
        f"/engines/local/containers/{container}/settings/",
        f"/engines/local/containers/{container}/remove/",
        "/engines/local/containers/new/",
        "/engines/local/containers/new/?q=busybox",
        f"/engines/local/containers/new/advanced/?image={image}",
        "/engines/local/images/",
        f"/engines/local/images/view/{image}/",
        "/engines/local/images/pull/",
        "/engines/local/images/build/",
        "/engines/local/images/registries/",
        "/engines/local/images/prune/",
        f"/engines/local/images/remove/{image}/",
        "/engines/local/volumes/",
        "/engines/local/volumes/new/",
        "/engines/local/volumes/prune/",
        f"/engines/local/volumes/{volume}/files/",
        f"/engines/local/volumes/{volume}/remove/",
        "/engines/local/networks/",
        f"/engines/local/networks/{network}/",
        "/engines/local/networks/new/",
        f"/engines/local/networks/{network}/remove/",
        # The main engine is no swarm manager: the page that says so, and the form.
        "/engines/local/swarm/",
        "/engines/local/swarm/services/new/",
        "/engines/local/jobs/",
        job,
        "/engines/local/audit/",
        "/settings/engines/",
        "/settings/engines/new/",
        "/settings/engines/local/",
    ]
