"""/healthz answers the container healthcheck: no login, no database, no engine (the engine
scope middleware would look up stored engines in the database: it is never reached)."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_healthz_says_ok_to_anyone_without_asking_the_database(django_assert_num_queries):
    client = Client()
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]
    assert client.head("/healthz").status_code == 200
    # Whatever name it is asked by: the healthcheck comes from inside the container.
    assert client.get("/healthz", HTTP_HOST="portal-container-id").status_code == 200
    # Nothing to change here: every other method is refused.
    assert client.post("/healthz").status_code == 405
