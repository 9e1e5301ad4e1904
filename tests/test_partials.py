"""Pages that answer htmx with a fragment say so in Vary, whichever way they answer: a cache
must never hand a fragment to a browser loading the page, or the page to htmx."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.engine]

LISTS = [
    "/engines/local/containers/",
    "/engines/local/images/",
    "/engines/local/volumes/",
    "/engines/local/networks/",
    "/engines/local/jobs/",
]


@pytest.mark.parametrize("path", LISTS)
def test_list_pages_vary_on_hx_request(admin_client, path):
    page = admin_client.get(path)
    fragment = admin_client.get(path, headers={"HX-Request": "true"})
    assert page.status_code == fragment.status_code == 200
    for response in (page, fragment):
        assert "HX-Request" in response.get("Vary", ""), (path, response.get("Vary"))
    assert b"<html" in page.content and b"<html" not in fragment.content
