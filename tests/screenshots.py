"""Screenshots for the README: the containers list and a container's page, at 390 and 1366 px
wide, in the light and the dark theme → docs/screenshots/*.png.

Runs the real portal (Daphne) on the real engine with a few containers of its own (labelled
like the tests' and removed afterwards), in Chromium; it lives beside the tests because it
uses their portal and engine helpers (it is not a test itself):
    /work/main/.venv/bin/python -m tests.screenshots
"""

import contextlib
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests import engine as eng
from tests.conftest import BASE_DIR, CHROMIUM, login, start_portal, stop_portal

OUT = BASE_DIR / "docs" / "screenshots"
WIDTHS = {"phone": (390, 844), "desktop": (1366, 900)}
THEMES = ("light", "dark")
# Names that read well in a picture; a log line or two so the page has something to show.
CONTAINERS = {
    "docs-web": "echo 'GET / 200 0.8ms'; echo 'GET /health 200 0.1ms'",
    "docs-api": "echo 'listening on :8080'; echo 'connected to docs-db' >&2",
    "docs-db": "echo 'database system is ready to accept connections'",
    "docs-worker": None,  # created, never started
}
IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"


def make_containers(client, image: str) -> dict[str, str]:
    made = {}
    for name, logs in CONTAINERS.items():
        with contextlib.suppress(Exception):
            client.remove_container(name, force=True)  # a leftover of an earlier run
        command = ["sh", "-c", f"{logs}; {IDLE}"] if logs else ["sh", "-c", IDLE]
        created = client.create_container(image, command=command, name=name, labels=eng.TEST_LABELS)
        made[name] = created["Id"]
        if logs:
            client.start(created["Id"])
    return made


def shoot(page, url: str, path: Path) -> None:
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-live", "connected")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=path, full_page=False)
    print(f"wrote {path.relative_to(BASE_DIR)}")


def main() -> None:
    client = eng.api()
    image = eng.build_test_image(client)
    made = make_containers(client, image)
    portal, process = start_portal(Path(tempfile.mkdtemp(prefix="dockerweb-shots-")))
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            for theme in THEMES:
                for size, (width, height) in WIDTHS.items():
                    context = browser.new_context(
                        viewport={"width": width, "height": height}, color_scheme=theme
                    )
                    page = context.new_page()
                    login(page, portal)
                    shoot(
                        page,
                        f"{portal.url}/engines/local/containers/?q=docs-",
                        OUT / f"containers-{size}-{theme}.png",
                    )
                    shoot(
                        page,
                        f"{portal.url}/engines/local/containers/{made['docs-web']}/",
                        OUT / f"container-{size}-{theme}.png",
                    )
                    context.close()
            browser.close()
    finally:
        stop_portal(process)
        eng.remove_test_resources(client)
        with contextlib.suppress(Exception):
            client.remove_image(image, force=True)


if __name__ == "__main__":
    main()
