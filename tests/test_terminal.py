"""The terminal socket on the real portal (Daphne) and the real engine: bytes both ways, resize,
and every way it ends leaving nothing running in the container (checked with the engine's
exec inspect); who gets one, the per-user cap, the idle timeout, the activity trail."""

import json
import re

import pytest

from containers.terminal_request import BadRequest, parse_open
from tests.conftest import start_portal, stop_portal
from tests.engine import wait_for
from tests.terminal_client import Terminal
from tests.users import OPERATOR_PERMISSIONS

PASSWORD = "terminal-test-pw-1"
IDLE = ("sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait")
PROMPT = r"[#$] $"


@pytest.fixture(scope="module")
def term_portal(docker_api, test_image, tmp_path_factory):
    """A portal where a user may have 2 terminals (the default is 4)."""
    portal, process = start_portal(
        tmp_path_factory.mktemp("terminal-portal"), {"DOCKERWEB_TERMINALS_PER_USER": "2"}
    )
    portal.create_user("operator", PASSWORD, OPERATOR_PERMISSIONS)
    portal.create_user(
        "shell-user", PASSWORD, ("containers.view_container", "containers.open_terminal")
    )
    yield portal
    stop_portal(process)


@pytest.fixture
def terminals():
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.close()


def open_terminal(portal, container_id, terminals, *, http=None, user="admin", password=None):
    http = http or portal.session(user, password)
    terminal = Terminal(portal, http, container_id)
    terminals.append(terminal)
    return terminal


def exec_ids(docker_api, container_id) -> list[str]:
    return docker_api.inspect_container(container_id)["ExecIDs"] or []


def nothing_runs(docker_api, container_id) -> bool:
    """No exec of the container still running, by the engine's own exec inspect."""
    return not any(
        docker_api.exec_inspect(exec_id)["Running"]
        for exec_id in exec_ids(docker_api, container_id)
    )


def processes(docker_api, container_id) -> str:
    return docker_api.exec_start(docker_api.exec_create(container_id, ["ps"])["Id"]).decode()


def audit_entries(portal) -> list[dict]:
    code = (
        "import json; from audit.models import AuditEntry as A\n"
        "rows = A.objects.filter(action__startswith='container.terminal').order_by('id')\n"
        "print(json.dumps(list(rows.values('action', 'username', 'target_id', 'detail', "
        "'outcome'))))"
    )
    return json.loads(portal.manage("shell", "-c", code).strip().splitlines()[-1])


# -- reading the page's request (pure) ----------------------------------------------------------


def test_the_open_request_is_read_as_a_shell_would_split_it():
    request = parse_open({"open": {"command": "bash -l -c 'echo hi there'", "user": "app:staff"}})
    assert request.command == ("bash", "-l", "-c", "echo hi there")
    assert request.user == "app:staff"
    assert parse_open({"open": {}, "size": [120, 40]}).size == (120, 40)
    assert parse_open({"open": {}, "size": [0, 40]}).size is None
    assert parse_open({"open": {"command": "  "}}).command == ()
    for bad in (
        {"open": {"command": "echo 'unclosed"}},
        {"open": {"user": "root; rm -rf /"}},
        {"open": {"command": ["sh"]}},
        {"open": "sh"},
        {"resize": [1, 2]},
    ):
        with pytest.raises(BadRequest):
            parse_open(bad)


# -- bytes both ways ----------------------------------------------------------------------------


def test_typing_a_command_shows_its_output_and_resizing_changes_stty_size(
    term_portal, make_container, docker_api, terminals
):
    container = make_container(IDLE)
    terminal = open_terminal(term_portal, container["Id"], terminals)
    state = terminal.open(size=(100, 30))
    assert state["state"] == "connected", state
    assert state["command"] == "sh"  # busybox has no bash: automatic picks sh
    terminal.type("echo $((6*7))\n")
    terminal.read_until(r"\r\n42\r\n")
    terminal.type("stty size\n")
    terminal.read_until(r"\r\n30 100\r\n")
    terminal.resize(132, 43)
    terminal.type("stty size\n")
    terminal.read_until(r"\r\n43 132\r\n")


def test_a_flood_of_output_arrives_whole_and_the_terminal_still_answers(
    term_portal, make_container, terminals
):
    container = make_container(IDLE)
    terminal = open_terminal(term_portal, container["Id"], terminals)
    assert terminal.open()["state"] == "connected"
    # 3 MB of "y" lines: more than the relay's buffer and a second of the byte budget.
    terminal.type("yes | head -c 3000000; echo; echo flood-$((1+1))-done\n")
    found = terminal.read_until(r"flood-2-done", timeout=60)
    assert found.string[: found.start()].count("y\r\n") == 1_500_000  # every line, once
    terminal.type("echo $((6*7))\n")
    terminal.read_until(r"\r\n42\r\n")


def test_a_typed_command_and_user_are_what_runs(term_portal, make_container, docker_api, terminals):
    container = make_container(IDLE)
    terminal = open_terminal(term_portal, container["Id"], terminals)
    state = terminal.open(command="sh -i", user="65534")
    assert (state["state"], state["command"], state["user"]) == ("connected", "sh -i", "65534")
    terminal.type("id -u\n")
    terminal.read_until(r"\r\n65534\r\n")


# -- every way it ends, nothing left running -------------------------------------------------


def test_closing_the_socket_kills_a_running_foreground_sleep(
    term_portal, make_container, docker_api, terminals
):
    container = make_container(IDLE)
    terminal = open_terminal(term_portal, container["Id"], terminals)
    assert terminal.open()["state"] == "connected"
    terminal.type("sleep 1000 & sleep 1001\n")
    wait_for(lambda: "sleep 1001" in processes(docker_api, container["Id"]), message="the sleeps")
    terminal.close()
    wait_for(lambda: nothing_runs(docker_api, container["Id"]), timeout=30, message="no exec")
    left = processes(docker_api, container["Id"])
    assert "sleep 1000" not in left and "sleep 1001" not in left, left
    assert docker_api.inspect_container(container["Id"])["State"]["Running"]


def test_logging_out_ends_the_terminal(term_portal, make_container, docker_api, terminals):
    container = make_container(IDLE)
    http = term_portal.session()
    terminal = open_terminal(term_portal, container["Id"], terminals, http=http)
    assert terminal.open()["state"] == "connected"
    terminal.type("sleep 1000\n")
    wait_for(lambda: "sleep 1000" in processes(docker_api, container["Id"]), message="the sleep")
    http.post(
        f"{term_portal.url}/logout/",
        data={"csrfmiddlewaretoken": http.cookies["csrftoken"]},
        headers={"Referer": f"{term_portal.url}/"},
        timeout=10,
    ).raise_for_status()
    ended = terminal.next_state()
    assert ended == {"type": "state", "state": "ended", "reason": "You logged out."}
    assert terminal.closed_code() == 1000
    wait_for(lambda: nothing_runs(docker_api, container["Id"]), timeout=30, message="no exec")
    assert "sleep 1000" not in processes(docker_api, container["Id"])


def test_the_shell_exiting_ends_the_socket_and_says_so(term_portal, make_container, terminals):
    container = make_container(IDLE)
    terminal = open_terminal(term_portal, container["Id"], terminals)
    assert terminal.open()["state"] == "connected"
    terminal.type("exit 3\n")
    assert terminal.next_state() == {
        "type": "state",
        "state": "ended",
        "reason": "The shell exited (code 3).",
    }


def test_stopping_the_container_ends_the_terminal_and_says_so(
    term_portal, make_container, docker_api, terminals
):
    container = make_container(IDLE)
    terminal = open_terminal(term_portal, container["Id"], terminals)
    assert terminal.open()["state"] == "connected"
    docker_api.stop(container["Id"], timeout=5)
    assert terminal.next_state() == {
        "type": "state",
        "state": "ended",
        "reason": "The container is exited.",
    }


def test_a_command_or_user_the_engine_cannot_run_is_said_so(term_portal, make_container, terminals):
    container = make_container(IDLE)
    for command, user in (("no-such-command", ""), ("sh", "no-such-user")):
        terminal = open_terminal(term_portal, container["Id"], terminals)
        assert terminal.open(command=command, user=user)["state"] == "connected"
        ended = terminal.next_state()
        assert ended["reason"].startswith("The command could not start (code 12"), ended
        assert "check the shell and the user" in ended["reason"], ended


def test_an_idle_terminal_is_ended_with_a_message(
    docker_api, test_image, make_container, tmp_path, terminals
):
    portal, process = start_portal(tmp_path, {"DOCKERWEB_TERMINAL_IDLE_SECONDS": "2"})
    try:
        container = make_container(IDLE)
        terminal = open_terminal(portal, container["Id"], terminals)
        assert terminal.open()["state"] == "connected"
        terminal.type("sleep 1000\n")
        ended = terminal.next_state(timeout=30)
        assert ended["state"] == "ended" and "idle" in ended["reason"], ended
        terminal.read_until(r"idle timeout")  # said in the terminal itself too
        wait_for(lambda: nothing_runs(docker_api, container["Id"]), timeout=30, message="no exec")
    finally:
        stop_portal(process)


# -- who gets one ----------------------------------------------------------------------------------


def test_an_operator_gets_no_socket_and_no_exec(term_portal, make_container, docker_api):
    from websockets.exceptions import InvalidStatus

    container = make_container(IDLE)
    http = term_portal.session("operator", PASSWORD)
    with pytest.raises(InvalidStatus):
        Terminal(term_portal, http, container["Id"])
    assert exec_ids(docker_api, container["Id"]) == []


def test_open_terminal_holders_get_plain_containers_but_not_privileged_ones(
    term_portal, make_container, docker_api, terminals, tmp_path
):
    plain = make_container(IDLE)
    # Judged on the configuration: a privileged container is refused before its state is
    # looked at (this machine's engine can't start one: it stays created).
    privileged = make_container(IDLE, host_config={"privileged": True}, start=False)
    host_mounted = make_container(IDLE, host_config={"binds": {str(tmp_path): {"bind": "/host"}}})
    http = term_portal.session("shell-user", PASSWORD)

    for container, what in ((privileged, "privileged"), (host_mounted, str(tmp_path))):
        refused = open_terminal(term_portal, container["Id"], terminals, http=http)
        state = refused.open()
        assert state["state"] == "refused" and what in state["reason"], state
        assert "root on the host" in state["reason"], state
        assert refused.closed_code() == 4403
        assert exec_ids(docker_api, container["Id"]) == []

    allowed = open_terminal(term_portal, plain["Id"], terminals, http=http)
    assert allowed.open()["state"] == "connected"
    allowed.type("echo $((6*7))\n")
    allowed.read_until(r"\r\n42\r\n")


def test_a_socket_from_another_origin_is_refused(term_portal, make_container, docker_api):
    from websockets.exceptions import InvalidStatus

    container = make_container(IDLE)
    http = term_portal.session()
    with pytest.raises(InvalidStatus):
        Terminal(term_portal, http, container["Id"], origin="http://evil.example")
    assert exec_ids(docker_api, container["Id"]) == []


def test_a_stopped_container_says_why_there_is_no_terminal(
    term_portal, make_container, docker_api, terminals
):
    container = make_container(IDLE, start=False)
    terminal = open_terminal(term_portal, container["Id"], terminals)
    state = terminal.open()
    assert state["state"] == "stopped" and "Start it" in state["reason"], state


def test_a_user_past_the_cap_is_refused_clearly(term_portal, make_container, terminals):
    container = make_container(IDLE)
    http = term_portal.session()
    for _ in range(2):
        assert open_terminal(term_portal, container["Id"], terminals, http=http).open()[
            "state"
        ] == ("connected")
    third = open_terminal(term_portal, container["Id"], terminals, http=http)
    state = third.open()
    assert state["state"] == "refused" and "2 terminals open" in state["reason"], state
    terminals[0].close()
    # The slot comes back once the first terminal has ended.
    wait_for(
        lambda: (
            open_terminal(term_portal, container["Id"], terminals, http=http).open()["state"]
            == "connected"
        ),
        timeout=20,
        interval=0.5,
        message="a slot back",
    )


# -- the activity trail -------------------------------------------------------------------------


def test_start_and_end_are_in_the_activity_trail(term_portal, make_container, terminals):
    container = make_container(IDLE)
    before = len(audit_entries(term_portal))
    terminal = open_terminal(term_portal, container["Id"], terminals)
    assert terminal.open(command="sh", user="0")["state"] == "connected"
    terminal.type("echo $((6*7))\n")
    terminal.read_until(r"\r\n42\r\n")
    terminal.close()
    entries = wait_for(
        lambda: (rows := audit_entries(term_portal)[before:]) and len(rows) >= 2 and rows,
        timeout=20,
        interval=0.5,
        message="the end entry",
    )
    start, end = entries
    assert (start["action"], start["username"], start["target_id"]) == (
        "container.terminal_start",
        "admin",
        container["Id"],
    )
    assert "sh as 0" in start["detail"]
    assert end["action"] == "container.terminal_end" and end["outcome"] == "ok", end
    assert "sh as 0" in end["detail"] and "Duration" in end["detail"], end
    assert "14 bytes in" in end["detail"], end  # "echo $((6*7))\n"
    assert " 0 bytes out" not in end["detail"], end


def test_any_open_message_is_read_or_refused_with_a_reason():
    """What the page sends is the user's: whatever arrives, the reader answers a request
    whose user is a plain name or id, or refuses with a reason (never another error)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from tests import fuzz_corpus as fz

    text = st.one_of(st.text(max_size=300), st.sampled_from(fz.CRITICAL))
    values = st.one_of(text, st.integers(), st.none(), st.lists(st.integers(), max_size=3))
    messages = st.fixed_dictionaries(
        {"open": st.dictionaries(st.sampled_from(["command", "user", "x"]), values)},
        optional={"size": values},
    )

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(messages, values))
    def check(message):
        try:
            request = parse_open(message)
        except BadRequest as refused:
            assert str(refused)
            return
        assert request.user == "" or re.fullmatch(r"[\w.:-]{1,129}", request.user, re.ASCII)
        assert all(isinstance(arg, str) and "\x00" not in arg for arg in request.command)

    check()


@pytest.mark.django_db(transaction=True)
def test_an_open_terminal_notices_its_login_ending_however_it_ends():
    """Besides logging out (at once, by the signal), an open terminal checks its login every
    LOGIN_CHECK_SECONDS: the session gone or expired, the user deactivated, or the permission
    taken away all end it."""
    import asyncio
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth.models import Permission

    from containers.terminal import _login_holds
    from tests.users import client_for, make_user

    user = make_user("holder", "containers.view_container", "containers.open_terminal")
    store = import_module(settings.SESSION_ENGINE).SessionStore

    def holds(client) -> bool:
        scope = {"session": store(client.cookies["sessionid"].value), "user": user}
        return asyncio.run(_login_holds(scope))

    client = client_for(user)
    assert holds(client)
    user.user_permissions.remove(Permission.objects.get(codename="open_terminal"))
    assert not holds(client)
    user.user_permissions.add(Permission.objects.get(codename="open_terminal"))
    assert holds(client)
    user.is_active = False
    user.save()
    assert not holds(client)
    user.is_active = True
    user.save()
    other = client_for(user)
    store(client.cookies["sessionid"].value).delete()
    assert not holds(client) and holds(other)
