"""The live model: its windows, its changes, and its sync against the real engine."""

from datetime import UTC, datetime, timedelta

import pytest

from dockerweb import engines, gateway
from dockerweb.gateway.status_text import human_duration, state_since, status_at
from dockerweb.gateway.types import ContainerSummary, Endpoint
from dockerweb.live_model import ContainerQuery, LiveModel
from dockerweb.live_model.queries import PER_PAGE
from tests import engine as eng

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def summary(n: int, **fields) -> ContainerSummary:
    values = {
        "id": f"{n:05x}" + "ab" * 29 + "a",
        "name": f"c{n:05d}",
        "image": f"img{n % 3}",
        "command": "",
        "created": T0 + timedelta(seconds=n),
        "state": ("running", "exited", "created", "paused")[n % 4],
        "status": "",
        **fields,
    }
    return ContainerSummary(**values)


@pytest.fixture
def model():
    model = LiveModel()
    model.replace_all([summary(n) for n in range(1000)], [], [], [])
    return model


# -- windows ----------------------------------------------------------------------------------


def test_a_window_holds_one_page_and_says_how_many_match(model):
    page = model.containers_page(ContainerQuery())
    assert len(page.rows) == PER_PAGE and page.matched == page.total == 1000
    assert page.rows[0].name == "c00999"  # newest first, like `docker ps`
    assert page.pages == 10 and page.has_next and not page.has_previous
    last = model.containers_page(ContainerQuery(page=99))
    assert last.number == 10 and last.rows[-1].name == "c00000"


def test_search_state_and_sort_are_applied_over_everything(model):
    page = model.containers_page(
        ContainerQuery(q="C0099", state="running", sort="name", descending=False)
    )
    assert [c.name for c in page.rows] == ["c00992", "c00996"]
    assert page.counts["running"] == 250 and page.counts["all"] == 1000
    by_id = model.containers_page(ContainerQuery(q=summary(998).id[:12]))
    assert [c.name for c in by_id.rows] == ["c00998"]


def test_the_selected_container_is_on_the_page_shown(model):
    target = summary(3)
    page = model.containers_page(ContainerQuery(sort="name", descending=False), around=target.id)
    assert target.id in {c.id for c in page.rows} and page.number == 1
    page = model.containers_page(ContainerQuery(), around=target.id)
    assert target.id in {c.id for c in page.rows} and page.number == 10


def test_query_parameters_round_trip_and_reject_nonsense():
    query = ContainerQuery.from_params(
        {"q": " web ", "state": "exited", "sort": "name", "page": "3"}
    )
    assert query == ContainerQuery(q="web", state="exited", sort="name", descending=False, page=3)
    assert ContainerQuery.from_params(query.params()) == query
    odd = ContainerQuery.from_params({"state": "<x>", "sort": "id; drop", "page": "9" * 40})
    assert odd == ContainerQuery()


def test_usage_finds_users_by_image_volume_and_network():
    model = LiveModel()
    users = [
        summary(1, image_id="sha256:a", volumes=("data",), endpoints=(Endpoint("net1", "n1id"),)),
        summary(2, image_id="sha256:a"),
        summary(3, endpoints=(Endpoint("net1"),)),  # never started: no network id yet
    ]
    model.replace_all(users, [], [], [])
    assert model.usage("image", "sha256:a")[1] == 2
    assert [c.name for c in model.usage("volume", "data")[0]] == ["c00001"]
    found, total = model.usage("network", "net1", limit=1)
    assert total == 2 and len(found) == 1
    assert model.usage_counts("network") == {"net1": 2}


def test_changes_are_told_in_order_and_only_when_something_changed():
    model = LiveModel()
    seen = []
    model.listen(lambda change: seen.append((change.kind, change.action, change.version)))
    model.put_container(summary(1))
    model.put_container(summary(1))  # the same again: nothing to tell
    model.put_container(summary(1, state="dead"))
    model.drop_container(summary(1).id)
    model.drop_container(summary(1).id)
    assert [(k, a) for k, a, _ in seen] == [
        ("container", "added"),
        ("container", "changed"),
        ("container", "removed"),
    ]
    assert [v for *_, v in seen] == sorted(v for *_, v in seen)


# -- status texts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "later", "expected"),
    [
        ("Up Less than a second", 90 * 60, "Up 2 hours"),
        ("Up 3 minutes (healthy)", 60, "Up 4 minutes (healthy)"),
        ("Exited (137) 2 hours ago", 24 * 3600, "Exited (137) 26 hours ago"),
        ("Up About an hour (Paused)", 0, "Up About an hour (Paused)"),
        ("Created", 3600, "Created"),
    ],
)
def test_status_texts_are_written_for_the_moment_of_the_page(status, later, expected):
    since = state_since(status, T0)
    assert status_at(status, since, T0 + timedelta(seconds=later)) == expected


def test_durations_read_like_the_engines():
    assert [human_duration(s) for s in (0, 1, 59, 60, 3599, 3600, 7200, 86400 * 3)] == [
        "Less than a second",
        "1 second",
        "59 seconds",
        "About a minute",
        "59 minutes",
        "About an hour",
        "2 hours",
        "3 days",
    ]


# -- against the real engine --------------------------------------------------------------


def _spy(monkeypatch, calls: dict, name: str, key: str):
    """Count calls of gateway.containers.<name> made from this thread (the model's own sync
    thread keeps applying the shared engine's events meanwhile)."""
    import threading

    real, me = getattr(gateway.containers, name), threading.get_ident()

    def spy(*args, **kwargs):
        if threading.get_ident() == me:
            calls[key] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(gateway.containers, name, spy)


@pytest.mark.engine
def test_the_model_follows_the_engine(docker_api, test_image):
    model = engines.current().live()
    made = docker_api.create_container(
        test_image, command=["sleep", "60"], name=eng.unique_name(), labels=eng.TEST_LABELS
    )
    try:
        eng.settle_model(made["Id"])
        docker_api.start(made["Id"])
        eng.settle_model(made["Id"], state="running")
        assert model.container(made["Id"]).status.startswith("Up")
    finally:
        docker_api.remove_container(made["Id"], force=True)
    eng.settle_model(made["Id"], gone=True)


@pytest.mark.engine
def test_events_cost_one_call_per_container_and_a_burst_one_listing(monkeypatch, make_container):
    from dockerweb.gateway.types import EngineEvent
    from dockerweb.live_model.sync import RELIST_ABOVE

    engine = engines.current()
    engine.live()
    calls = {"list": 0, "one": 0}
    _spy(monkeypatch, calls, "list_containers", "list")
    _spy(monkeypatch, calls, "get_summaries", "one")
    made = make_container(start=False)
    events = [EngineEvent("container", a, made["Id"], {}, 0) for a in ("create", "start", "die")]
    with engine.using():
        engine.sync.apply_events(events)
    assert calls == {"list": 0, "one": 1}  # three events of one container: one call
    burst = [
        EngineEvent("container", "start", summary(n).id, {}, 0) for n in range(RELIST_ABOVE + 1)
    ]
    with engine.using():
        engine.sync.apply_events(burst)
    assert calls == {"list": 1, "one": 1}


def test_asks_of_one_request_while_the_engine_is_down_retry_once(settings, tmp_path, monkeypatch):
    # A page asks from its view, its sidebar and its banner: one retry serves them all.
    from types import SimpleNamespace

    settings.DOCKER_HOST = f"unix://{tmp_path}/nothing.sock"
    engine = engines.current()
    attempts = []
    real = engine.sync._list_then_watch
    monkeypatch.setattr(engine.sync, "_list_then_watch", lambda: attempts.append(1) or real())
    try:
        with pytest.raises(gateway.EngineUnavailable):
            engine.live()  # the engine's first listing fails: from here on it is down
        before = len(attempts)
        request = SimpleNamespace()
        for _ in range(3):
            with pytest.raises(gateway.EngineUnavailable):
                engines.live_for(request)
        assert len(attempts) - before == 1
    finally:
        engine.sync.stop()
        gateway.reset()
