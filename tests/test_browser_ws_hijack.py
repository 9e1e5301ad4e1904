"""Cross-site websocket hijack from another port of the portal's host, in real Chromium.

An admin is logged in to the portal at http://127.0.0.1:<portal port>. The same browser then
opens a page served from another port of 127.0.0.1 — what a container someone published
looks like, and the portal links to those. Cookies don't care about ports, so the page's
websockets to the portal carry the admin's session: only the Origin check stands between
that page and the admin's container logs, job output and live events.
"""

import contextlib
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import docker.errors
import pytest
from playwright.sync_api import expect

from tests import engine as eng

pytestmark = pytest.mark.browser

JOB_URL = re.compile(r"/engines/local/jobs/([0-9a-f-]{36})/$")

# The attacker's page: opens the portal's sockets and writes whatever arrives into the page.
ATTACK_PAGE = """<!doctype html>
<meta charset="utf-8"><title>Someone's published app</title>
<ul id="received"></ul>
<script>
window.sockets = {};
for (const path of PATHS) {
  const state = (window.sockets[path] = { opened: false, closed: false, messages: 0 });
  const socket = new WebSocket(PORTAL + path);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => { state.opened = true; };
  socket.onclose = () => { state.closed = true; };
  socket.onmessage = (event) => {
    state.messages += 1;
    const text = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data);
    const item = document.createElement("li");
    item.textContent = `${path} ${text}`;
    document.getElementById("received").append(item);
  };
}
</script>
"""

# Every socket of the attack page has either been refused (closed) or received something.
ALL_SETTLED = "() => Object.values(window.sockets).every((s) => s.closed || s.messages > 0)"


@contextlib.contextmanager
def site_on_another_port(html: str):
    """A tiny HTTP server on a free port of 127.0.0.1 serving one page."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server hook's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def start_build(portal, http, image: str, tag: str, marker: str) -> str:
    """A real build job (through the portal's form) whose output carries `marker`."""
    response = http.post(
        f"{portal.url}/engines/local/images/build/",
        data={
            "dockerfile_text": f"FROM {image}\nRUN echo {marker}\n",
            "dockerfile": "Dockerfile",
            "tags": tag,
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
        },
        headers={"Referer": f"{portal.url}/engines/local/images/build/"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[-2000:]
    return JOB_URL.search(response.headers["Location"]).group(1)


def test_a_page_on_another_port_reads_nothing_from_the_admins_sockets(
    admin_page, portal, docker_api, test_image, make_container
):
    log_marker = f"log-secret-{uuid.uuid4().hex[:8]}"
    later_marker = f"later-secret-{uuid.uuid4().hex[:8]}"
    job_marker = f"job-secret-{uuid.uuid4().hex[:8]}"
    container = make_container(("sh", "-c", f"echo {log_marker}; exec sleep 3600"))
    tag = f"{eng.unique_name('dwt-hijack')}:1"
    job_id = start_build(portal, portal.session(), test_image, tag, job_marker)
    paths = [
        "/engines/local/ws/live/",
        f"/engines/local/ws/containers/{container['Id']}/logs/?tail=all",
        f"/engines/local/ws/jobs/{job_id}/",
    ]
    page = ATTACK_PAGE.replace("PATHS", json.dumps(paths)).replace(
        "PORTAL", json.dumps(portal.url.replace("http://", "ws://"))
    )
    try:
        with site_on_another_port(page) as attack_url:
            assert attack_url.split(":")[2] != portal.url.split(":")[2]
            attacker = admin_page  # the admin's own browser, still logged in
            attacker.goto(attack_url)
            attacker.wait_for_function(ALL_SETTLED)

            # Meanwhile the portal's own pages, in another tab of the same browser, stream.
            own = attacker.context.new_page()
            own.set_default_timeout(10_000)
            own.goto(f"{portal.url}/engines/local/containers/{container['Id']}/")
            log = own.locator("[data-log-output]")
            expect(log.locator(".line", has_text=log_marker)).to_have_count(1)
            exec_id = docker_api.exec_create(
                container["Id"], ["sh", "-c", f"echo {later_marker} > /proc/1/fd/1"]
            )
            docker_api.exec_start(exec_id)
            expect(log.locator(".line", has_text=later_marker)).to_have_count(1)

            own.goto(f"{portal.url}/engines/local/jobs/{job_id}/")
            expect(own.locator("[data-job-output]")).to_contain_text(job_marker, timeout=60_000)

            own.goto(f"{portal.url}/engines/local/containers/")
            expect(own.locator("body")).to_have_attribute("data-live", "connected")
            newcomer = make_container(start=False)
            docker_api.start(newcomer["Id"])
            row = own.locator(f'#container-rows [data-container-id="{newcomer["Id"]}"]')
            expect(row).to_have_attribute("data-state", "running")

            sockets = attacker.evaluate("window.sockets")
            received = attacker.locator("#received li").all_text_contents()
            assert received == [], f"the page on another port read: {received[:5]}"
            assert all(s["closed"] and not s["opened"] for s in sockets.values()), sockets
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_image(tag, force=True)
