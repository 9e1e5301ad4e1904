"""The containers table and the sidebar are windows of the live model: paged, searched,
filtered and sorted on the server, so no page carries the whole engine."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import engine as eng
from tests.pages import text

pytestmark = [pytest.mark.django_db, pytest.mark.engine]

MANY = 130


@pytest.fixture(scope="module")
def many(docker_api, test_image):
    """MANY never-started containers sharing a name prefix unique to this run."""
    prefix = eng.unique_name("dwt-win")

    def create(n):
        return docker_api.create_container(
            test_image, command=["true"], name=f"{prefix}-{n:03d}", labels=eng.TEST_LABELS
        )["Id"]

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(create, range(MANY)))
    eng.settle_model(ids[-1])
    for container_id in ids:
        eng.settle_model(container_id)
    yield prefix, ids
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: docker_api.remove_container(i, force=True), ids))


def rows(response) -> list[str]:
    return re.findall(r'<tr data-container-id="([0-9a-f]{64})"', response.content.decode())


def sidebar_items(response) -> list[str]:
    return re.findall(
        r'class="sidebar-item" data-container-id="([0-9a-f]{64})"', response.content.decode()
    )


def test_the_table_shows_one_page_of_what_matches_and_pages_through_the_rest(admin_client, many):
    prefix, ids = many
    first = admin_client.get("/engines/local/containers/", {"q": prefix, "sort": "name"})
    assert first.status_code == 200
    assert len(rows(first)) == 100
    text = first.content.decode()
    assert f"1–100</span> of {MANY} matching" in text
    assert 'rel="next"' in text and 'rel="prev"' not in text
    second = admin_client.get(
        "/engines/local/containers/", {"q": prefix, "sort": "name", "page": "2"}
    )
    assert len(rows(second)) == MANY - 100
    assert set(rows(first)) | set(rows(second)) == set(ids)
    # Sorted by name: the pages follow the names.
    assert rows(first)[0] == ids[0] and rows(second)[-1] == ids[-1]
    backwards = admin_client.get("/engines/local/containers/", {"q": prefix, "sort": "-name"})
    assert rows(backwards)[0] == ids[-1]


def test_search_and_state_filter_run_over_everything_on_the_server(admin_client, many):
    prefix, ids = many
    one = admin_client.get("/engines/local/containers/", {"q": f"{prefix}-042"})
    assert rows(one) == [ids[42]]
    by_id = admin_client.get("/engines/local/containers/", {"q": ids[7][:16]})
    assert rows(by_id) == [ids[7]]
    running = admin_client.get("/engines/local/containers/", {"q": prefix, "state": "running"})
    assert rows(running) == [] and f"No containers match “{prefix}”." in text(running)
    created = admin_client.get("/engines/local/containers/", {"q": prefix, "state": "created"})
    assert len(rows(created)) == 100


def test_the_htmx_answer_is_the_table_alone_and_says_it_varies(admin_client, many):
    prefix, _ = many
    partial = admin_client.get(
        "/engines/local/containers/", {"q": prefix}, headers={"HX-Request": "true"}
    )
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="container-table"') and "<html" not in body
    assert "HX-Request" in partial["Vary"]
    assert "HX-Request" in admin_client.get("/engines/local/containers/")["Vary"]


def test_the_sidebar_is_a_window_with_its_filter_kept_for_the_next_pages(admin_client, many):
    prefix, ids = many
    filtered = admin_client.get("/engines/local/containers/sidebar/", {"q": prefix})
    assert sidebar_items(filtered) == ids[:50]  # by name
    assert f"1–50 of {MANY}" in filtered.content.decode()
    # The filter follows the user to other pages.
    jobs = admin_client.get("/engines/local/jobs/")
    assert sidebar_items(jobs) == ids[:50]
    assert f'value="{prefix}"' in jobs.content.decode()
    second = admin_client.get("/engines/local/containers/sidebar/", {"page": "3"})
    assert sidebar_items(second) == ids[100:]


def test_the_selected_container_is_always_in_the_sidebar(admin_client, many):
    prefix, ids = many
    admin_client.get("/engines/local/containers/sidebar/", {"q": prefix})
    # On the third window of the filter: its page shows that window.
    page = admin_client.get(f"/engines/local/containers/{ids[120]}/")
    assert ids[120] in sidebar_items(page) and len(sidebar_items(page)) == MANY - 100
    # Left out by the filter: pinned on top of the window.
    admin_client.get("/engines/local/containers/sidebar/", {"q": "zz-no-such-container"})
    page = admin_client.get(f"/engines/local/containers/{ids[3]}/overview/")
    assert sidebar_items(page) == [ids[3]]


def test_usage_filters_list_the_users_of_an_image(admin_client, many, docker_api):
    prefix, ids = many
    image_id = docker_api.inspect_container(ids[0])["Image"]
    response = admin_client.get("/engines/local/containers/", {"image": image_id, "q": prefix})
    assert len(rows(response)) == 100 and "made from image" in response.content.decode()
