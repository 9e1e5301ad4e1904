"""Base images and layers: the parent chain and layer history of an image's page, the base
image badge, the images list's filters (base / dangling / unused / in use), and sizes written
the same way on the job page and the image page."""

import contextlib
import html
import io
import re
import uuid
from dataclasses import dataclass
from types import SimpleNamespace

import docker.errors
import pytest
import requests
from playwright.sync_api import expect

from dockerweb.gateway.images import HistoryEntry
from dockerweb.sizes import human_size
from images import image_filters
from images.lineage import MAX_ANCESTORS, Step, instruction, lineage_of
from tests.conftest import remove_image_and_its_containers
from tests.engine import TEST_LABELS, settle_image, unique_name
from tests.test_images_browse import new_container, row_cells, table_rows

# -- pure: the history written for people, the chain, the filters ------------------------


@pytest.mark.parametrize(
    ("created_by", "shown"),
    [
        ('/bin/sh -c #(nop)  CMD ["sh"]', 'CMD ["sh"]'),
        ("/bin/sh -c #(nop) COPY file:ab12 in /app ", "COPY file:ab12 in /app"),
        ("/bin/sh -c echo hi > /tmp/x", "RUN echo hi > /tmp/x"),
        ("|2 A=1 B= /bin/sh -c make", "RUN make"),
        ("Imported from -", "Imported from -"),
        ("", ""),
    ],
)
def test_a_history_step_reads_as_the_dockerfile_line_it_came_from(created_by, shown):
    assert instruction(created_by) == shown


def test_a_long_step_is_cut_to_one_line_and_keeps_its_full_text():
    long = "/bin/sh -c " + "apt-get install -y something-long \\\n  " * 6
    step = Step(HistoryEntry(image_id="", created_by=long, size=0, created=None))

    assert step.short.startswith("RUN apt-get install") and step.short.endswith("…")
    assert "\n" not in step.short and len(step.short) <= 90
    assert step.abridged  # the page offers the full text
    plain = Step(HistoryEntry(image_id="", created_by="Imported from -", size=0, created=None))
    assert not plain.abridged


def _image(image_id, parent="", tags=()):
    return SimpleNamespace(id=image_id, parent_id=parent, tags=tuple(tags))


class FakeModel:
    def __init__(self, *images):
        self.known = {i.id: i for i in images}

    def image(self, image_id):
        return self.known.get(image_id)


def test_the_chain_walks_from_the_parent_to_the_base_nearest_first():
    base = _image("sha256:base", tags=["busybox:1"])
    middle = _image("sha256:mid", parent="sha256:base")
    top = _image("sha256:top", parent="sha256:mid", tags=["app:1"])

    chain = lineage_of(top, FakeModel(base, middle))

    assert [a.id for a in chain.ancestors] == ["sha256:mid", "sha256:base"]
    assert [a.name for a in chain.ancestors] == ["mid", "busybox:1"]
    assert chain.base.reference == "busybox:1"
    assert chain.ancestors[0].reference == "sha256:mid"  # untagged: linked by id


def test_a_very_long_chain_stops_with_a_bounded_number_of_steps():
    images = [_image(f"sha256:{n}", parent=f"sha256:{n + 1}") for n in range(MAX_ANCESTORS + 10)]

    chain = lineage_of(images[0], FakeModel(*images))

    assert len(chain.ancestors) == MAX_ANCESTORS and chain.cut_short and chain.base is None


def test_filters_choose_images_from_summaries_and_usage_alone():
    base = _image("sha256:a", tags=["a:1"])
    built = _image("sha256:b", parent="sha256:x", tags=["b:1"])
    dangling = _image("sha256:c", parent="sha256:x")
    for image in (base, built, dangling):
        image.base, image.dangling = not image.parent_id, not image.tags
    images, usage = [base, built, dangling], {"sha256:b": 2}

    def shown(name):
        return [i.id for i in image_filters.keep(images, usage, name)]

    assert shown("base") == ["sha256:a"]
    assert shown("dangling") == ["sha256:c"]
    assert shown("in-use") == ["sha256:b"]
    assert shown("unused") == ["sha256:a", "sha256:c"]
    assert shown("") == ["sha256:a", "sha256:b", "sha256:c"]
    assert image_filters.chosen({"show": "<script>"}) == ""
    counts = {value: count for value, _, count in image_filters.choices(images, usage)}
    assert counts == {"": 3, "base": 1, "dangling": 1, "unused": 2, "in-use": 1}


# -- on the engine -------------------------------------------------------------------------


@dataclass
class Built:
    reference: str
    id: str


@pytest.fixture
def build_from(docker_api, test_image):
    """build_from(reference=None, run=a shell step) → Built, FROM the test image; each image
    (and the untagged steps under it) is removed after the test."""
    made = []

    def build(reference=None, run="echo > /tmp/layer"):
        reference = reference or f"{unique_name('dwt-layers')}:1"
        marker = uuid.uuid4().hex  # a new RUN step each time: never a cached image
        dockerfile = f"FROM {test_image}\nRUN {run} && echo {marker} >> /tmp/layer\n"
        built_id = None
        for event in docker_api.build(
            fileobj=io.BytesIO(dockerfile.encode()),
            tag=reference,
            labels=TEST_LABELS,
            rm=True,
            forcerm=True,
            decode=True,
        ):
            assert "error" not in event, event
            built_id = (event.get("aux") or {}).get("ID", built_id)
        assert built_id, "the build reported no image"
        made.append(built_id)
        settle_image(built_id, tags=(reference,))
        return Built(reference, built_id)

    yield build
    for image_id in reversed(made):
        remove_image_and_its_containers(docker_api, image_id)


def section(page: str, marker: str) -> str:
    found = re.search(rf"<section class=\"panel\" {marker}>(.*?)</section>", page, re.S)
    assert found, f"no {marker} section"
    return found.group(1)


def test_the_test_image_is_a_base_image_in_the_list_and_on_its_page(admin_client, test_image):
    list_page = admin_client.get("/engines/local/images/").content.decode()
    row = re.search(
        rf'<tr data-image-row[^>]*data-reference="{re.escape(test_image)}"[^>]*>', list_page
    )
    assert row and " data-base" in row.group(0)
    assert "base image" in row_cells(list_page, test_image)

    page = admin_client.get(f"/engines/local/images/view/{test_image}/").content.decode()
    assert "data-base-badge" in page and ">base image</span>" in page
    assert "No parent on this engine" in section(page, "data-image-lineage")


def test_a_built_image_shows_its_parent_and_the_chain_back_to_its_base(
    admin_client, docker_api, test_image, build_from
):
    built = build_from()
    parent_id = docker_api.inspect_image(built.id)["Parent"]
    assert parent_id, "the classic builder records the parent"

    page = admin_client.get(f"/engines/local/images/view/{built.reference}/").content.decode()

    assert "data-base-badge" not in page
    lineage = section(page, "data-image-lineage")
    parent = re.search(r'<a[^>]*href="([^"]+)"[^>]*data-parent>([^<]+)</a>', lineage)
    assert parent, "no parent link"
    assert parent.group(1) == f"/engines/local/images/view/{parent_id}/"
    assert parent.group(2) == parent_id.removeprefix("sha256:")[:12]
    ancestors = re.findall(r'data-ancestor="([^"]+)"><a href="([^"]+)"', lineage)
    assert ancestors[0][0] == parent_id
    base_id = docker_api.inspect_image(test_image)["Id"]
    assert ancestors[-1] == (base_id, f"/engines/local/images/view/{test_image}/"), (
        "the chain misses its base"
    )
    assert "base image" in lineage.rsplit("data-ancestor", 1)[1]
    # Each link leads on: the parent's own page goes on to the same base.
    parent_page = admin_client.get(parent.group(1)).content.decode()
    assert f'href="/engines/local/images/view/{test_image}/"' in section(
        parent_page, "data-image-lineage"
    )

    history = re.search(r"<table[^>]*data-image-history>(.*?)</table>", page, re.S).group(1)
    steps = re.findall(r"<tr data-layer-step>(.*?)</tr>", history, re.S)
    assert len(steps) == len(docker_api.history(built.id))
    texts = [html.unescape(re.sub(r"<[^>]+>", " ", s)) for s in steps]
    assert any("RUN echo" in t and "/bin/sh -c" not in t.split("RUN echo")[0] for t in texts)
    assert not any("#(nop)" in t.split("\n")[0] for t in texts)
    assert any("Imported from -" in t for t in texts), "the base's layer is missing"
    for entry, step in zip(docker_api.history(built.id), steps, strict=True):
        assert f'data-size="{entry["Size"]}">{human_size(entry["Size"])}<' in step
        if entry["Id"] != "<missing>":
            assert f'href="/engines/local/images/view/{entry["Id"]}/"' in step


def shown_ids(admin_client, **params) -> set[str]:
    response = admin_client.get("/engines/local/images/", params)
    assert response.status_code == 200
    return {row["data-image-id"] for row in table_rows(response.content.decode())}


def test_filters_show_exactly_the_right_images(admin_client, docker_api, test_image, build_from):
    reference = f"{unique_name('dwt-layers')}:1"
    replaced = build_from(reference)
    current = build_from(reference)  # takes the tag: the first build is left dangling
    settle_image(replaced.id, tags=())
    used = build_from()
    new_container(docker_api, used.reference)
    base_id = docker_api.inspect_image(test_image)["Id"]
    mine = {replaced.id, current.id, used.id, base_id}

    assert shown_ids(admin_client, show="dangling") & mine == {replaced.id}
    assert shown_ids(admin_client, show="in-use") & mine - {base_id} == {used.id}
    assert shown_ids(admin_client, show="unused") & mine - {base_id} == {replaced.id, current.id}
    assert shown_ids(admin_client, show="base") & mine == {base_id}
    assert shown_ids(admin_client) >= mine
    # A filter and a name together.
    assert shown_ids(admin_client, show="unused", q=reference.split(":")[0]) == {current.id}

    page = admin_client.get("/engines/local/images/", {"show": "dangling"}).content.decode()
    assert re.search(r'value="dangling" form="image-filters" data-submit-on-change\s+checked', page)
    counts = dict(re.findall(r'data-filter-count="([\w-]+)">(\d+)<', page))
    assert set(counts) == {"all", "base", "dangling", "unused", "in-use"}
    assert int(counts["dangling"]) >= 1 and int(counts["all"]) >= len(mine)
    # The live refresh asks for the same filtered list.
    assert 'hx-get="/engines/local/images/?show=dangling"' in page


def test_an_unknown_filter_shows_everything(admin_client, test_image):
    response = admin_client.get("/engines/local/images/", {"show": "../../etc"})

    assert response.status_code == 200
    assert test_image in [r["data-reference"] for r in table_rows(response.content.decode())]


@pytest.mark.browser
def test_a_filter_is_kept_in_the_url_and_across_live_changes(
    admin_page, portal, docker_api, build_from
):
    reference = f"{unique_name('dwt-layers')}:1"
    replaced = build_from(reference)
    current = build_from(reference)
    page = admin_page
    page.goto(f"{portal.url}/engines/local/images/")
    expect(page.locator("body")).to_have_attribute("data-live", "connected")

    page.get_by_label("Dangling").check()

    page.wait_for_url(re.compile(r"/engines/local/images/\?(.*&)?show=dangling"))
    expect(page.locator(f'tr[data-image-id="{replaced.id}"]')).to_be_visible()
    expect(page.locator(f'tr[data-image-id="{current.id}"]')).to_have_count(0)
    expect(page.get_by_label("Dangling")).to_be_checked()
    page.reload()
    expect(page.get_by_label("Dangling")).to_be_checked()
    expect(page.locator(f'tr[data-image-id="{replaced.id}"]')).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    # Tagged again from the CLI: no longer dangling, so it leaves the filtered list live.
    repository = reference.split(":")[0]
    docker_api.tag(replaced.id, repository, "again")

    expect(page.locator(f'tr[data-image-id="{replaced.id}"]')).to_have_count(0)
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    assert "show=dangling" in page.url
    expect(page.get_by_label("Dangling")).to_be_checked()


@pytest.mark.browser
def test_the_chain_links_from_a_built_image_back_to_its_base_badge(
    admin_page, portal, test_image, build_from
):
    built = build_from(run="echo " + "a-long-step " * 12 + "> /tmp/layer")
    page = admin_page
    page.goto(f"{portal.url}/engines/local/images/view/{built.reference}/")
    lineage = page.locator("[data-image-lineage]")
    expect(lineage.get_by_role("link", name=test_image)).to_be_visible()
    expect(page.locator("[data-base-badge]")).to_have_count(0)

    lineage.get_by_role("link", name=test_image).click()

    page.wait_for_url(re.compile(re.escape(f"/engines/local/images/view/{test_image}/")))
    expect(page.locator("[data-base-badge]")).to_have_text("base image")
    expect(page.locator("[data-no-parent]")).to_be_visible()
    # The full text of a step is a click away.
    page.go_back()
    step = page.locator("[data-image-history] details.step").first
    expect(step).to_be_visible()
    step.locator("summary").click()
    expect(step.locator("pre")).to_have_text(re.compile(r"^/bin/sh -c echo (a-long-step ){12}"))


# -- one unit system: the job page and the image page ---------------------------------------


def _layer_sizes(registry, repository: str, tag: str) -> dict[str, int]:
    """Short layer id (as a pull reports it) → compressed size, from the registry's manifest."""
    manifest = requests.get(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    )
    manifest.raise_for_status()
    return {layer["digest"][7:19]: layer["size"] for layer in manifest.json()["layers"]}


@pytest.mark.browser
def test_the_job_page_and_the_image_page_write_sizes_the_same_way(
    admin_page, portal, docker_api, registry, build_from
):
    # Random bytes: the layer's compressed size is in kB, not a few bytes.
    built = build_from(run="dd if=/dev/urandom of=/tmp/layer bs=1024 count=300 2>/dev/null")
    tag = uuid.uuid4().hex[:8]
    repository = "dwtest/sizes"
    reference = f"{registry.address}/{repository}:{tag}"
    docker_api.tag(built.id, f"{registry.address}/{repository}", tag)
    for event in docker_api.push(
        f"{registry.address}/{repository}", tag=tag, stream=True, decode=True
    ):
        assert "error" not in event, event
    docker_api.remove_image(reference)
    layers = _layer_sizes(registry, repository, tag)
    # The pull has to fetch what only the registry has now.
    docker_api.remove_image(built.id, force=True)
    page = admin_page
    try:
        page.goto(f"{portal.url}/engines/local/images/pull/")
        page.get_by_label("Image").fill(reference)
        page.get_by_role("button", name="Pull").click()
        page.wait_for_url(re.compile(r"/engines/local/jobs/[0-9a-f-]{36}/$"))
        expect(page.locator("[data-job]")).to_have_attribute(
            "data-status", "succeeded", timeout=90_000
        )
        job_url = page.url
        fetched = page.locator("li[data-layer]:not([data-status='Already exists'])")
        expect(fetched).to_have_count(1)  # the RUN step; the base is here already
        short_id = fetched.get_attribute("data-layer")
        written = human_size(layers[short_id])
        assert written.endswith(" kB"), written
        expect(fetched.locator(".layer-status")).to_have_text(
            f"Pull complete {written} / {written}"
        )
        pulled = docker_api.inspect_image(reference)

        page.goto(f"{portal.url}/engines/local/images/view/{reference}/")
        shown = page.locator(f'dd[data-size="{pulled["Size"]}"]')
        expect(shown).to_contain_text(human_size(pulled["Size"]))
        image_page_text = shown.inner_text().split(" (")[0]

        page.goto(job_url)
        expect(page.locator("[data-job]")).to_have_attribute("data-status", "succeeded")
        job_page_text = page.evaluate(f"window.dockerwebSizes.human({pulled['Size']})")
        assert job_page_text == image_page_text == human_size(pulled["Size"])
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_image(reference, force=True)
