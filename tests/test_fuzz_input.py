"""A generated corpus (hypothesis, derandomized) over every form and every URL converter, sent
as an admin (the most code paths): no request may answer 5xx, and a request that failed may
create nothing, neither on the engine nor as a Job.

Each request is watched at the gateway's door (tests.engine_spy): the engine objects it made
and did not remove again must each be named by a successful audit entry of that request, and
its jobs too; a refused request (4xx) may make none. What successful requests made is removed
afterwards, and the engine is checked for anything left carrying the fuzz labels.

The engine is shared with other test runs, so the corpus keeps to what it may touch: POSTs
never reach another run's objects (a path parameter naming one is skipped), no network or
Dockerfile reaches an address outside this machine, host ports stay out of range, volume
drivers other than `local` are only sent in shapes the form refuses (an unknown driver makes
dockerd look for a plugin), and the two prunes, which take no input, are left to
test_audit_trail.
"""

import contextlib
import time

import docker.errors
import pytest
from django.contrib.auth.models import User
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings

from images.models import Registry
from jobs.models import Job
from tests import engine as eng
from tests.engine_spy import spying_on_the_engine
from tests.fuzz_harness import FUZZ_USER, Fuzz, clean_up, leftovers
from tests.fuzz_targets import Ours, Request, corpus

pytestmark = pytest.mark.django_db(transaction=True)

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


@pytest.fixture
def ours(docker_api, make_container, make_image):
    container = make_container(COMMAND, start=False)
    reference, image_id = make_image()
    volume = eng.unique_name("dwt-fuzzvol")
    docker_api.create_volume(name=volume, labels=eng.TEST_LABELS)
    network_name = eng.unique_name("dwt-fuzznet")
    network = docker_api.create_network(network_name, driver="bridge", labels=eng.TEST_LABELS)
    registry = Registry(address="fuzz-registry.example:5000", username="u")
    registry.set_secret("fuzz-secret")
    registry.save()
    found = Ours(
        container=container["Id"],
        image_ref=reference,
        image_id=image_id,
        volume=volume,
        network=network["Id"],
        network_name=network_name,
        registry_pk=registry.pk,
        containers={container["Id"]},
        images={image_id},
        volumes={volume},
        networks={network["Id"]},
    )
    yield found
    for container_id in found.containers:
        with contextlib.suppress(docker.errors.APIError):
            docker_api.remove_container(container_id, force=True, v=True)
    with contextlib.suppress(docker.errors.APIError):
        docker_api.remove_network(network["Id"])
    with contextlib.suppress(docker.errors.APIError):
        docker_api.remove_volume(volume, force=True)


def test_generated_corpus_over_every_form_and_converter_gives_no_500_and_creates_nothing(
    docker_api, ours, capsys
):
    user = User.objects.create_superuser(FUZZ_USER, password="fuzz-admin-pw-1")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    ours.settings_base = served_settings(client, ours.container)
    before = leftovers(docker_api, ours)
    with spying_on_the_engine() as spy:
        fuzz = Fuzz(client, user, docker_api, ours, spy)
        try:
            for label, examples, strategy, swept in corpus(ours):
                started = time.monotonic()
                run_target(fuzz, label, examples, strategy)
                for request in swept:
                    fuzz.send(label, request, swept=True)
                fuzz.seconds[label] = time.monotonic() - started
        finally:
            clean_up(fuzz)
    after = leftovers(docker_api, ours)

    def total(key: str) -> int:
        return sum(c[key] for c in fuzz.counts.values())

    generated, swept, crashes = total("generated"), total("swept"), total("5xx")
    with capsys.disabled():
        print(
            f"\nfuzz corpus: {generated} generated + {swept} swept requests sent, "
            f"{total('skipped')} skipped by the guard"
        )
        for label, counted in fuzz.counts.items():
            shown = [f"{k} {counted[k]}" for k in ("generated", "swept", "skipped") if counted[k]]
            shown += [f"{k} {v}" for k, v in sorted(counted.items()) if k.endswith("xx")]
            print(f"  {label:26} " + "  ".join(shown) + f"  ({fuzz.seconds.get(label, 0):.1f} s)")
        print(
            f"  500s: {crashes}; leaks: {len(fuzz.leaks)}; fuzz objects before/after: "
            f"{before} / {after}"
        )
    assert generated >= 300, generated
    assert not fuzz.crashes, fuzz.crashes[:10]
    assert not fuzz.leaks, "\n".join(map(repr, fuzz.leaks[:10]))
    assert after == before, (before, after)
    assert not Job.objects.filter(started_by=user).exists()


def served_settings(client: Client, container_id: str) -> dict:
    form = client.get(f"/engines/local/containers/{container_id}/settings/").context["form"]
    data = {name: form[name].value() for name in form.fields}
    return {k: "on" if v is True else "" if v in (None, False) else v for k, v in data.items()}


def run_target(fuzz: Fuzz, label: str, examples: int, strategy) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(request: Request) -> None:
        fuzz.send(label, request)

    one()
