"""The image's HEALTHCHECK: GET /healthz from inside the container, 0 when it says "ok".

Django answers only to the host names it serves (DOCKERWEB_ALLOWED_HOSTS), so the request
names the first of them rather than the loopback address it is sent to.
"""

import http.client
import sys

from dockerweb.env import env_hosts

PORT = 8000


def host_header() -> str:
    host, _ = env_hosts("DOCKERWEB_ALLOWED_HOSTS", ["localhost"])[0]
    if host == "*":
        return "localhost"
    return host.lstrip(".")  # ".example.com" allows example.com itself too


def main() -> int:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=4)
    try:
        connection.request("GET", "/healthz", headers={"Host": host_header()})
        response = connection.getresponse()
        body = response.read(100)
    except OSError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1
    if response.status != 200 or body != b"ok":
        print(f"healthcheck: HTTP {response.status} {body[:100]!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
