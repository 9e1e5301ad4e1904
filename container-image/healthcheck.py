"""The image's HEALTHCHECK: GET /healthz from inside the container; exit 0 when it says "ok".

Standard library only and no Django: it runs every 30 s. /healthz is answered before
Django's host check (dockerweb/health.py), so whatever DOCKERWEB_ALLOWED_HOSTS says,
the loopback address will do.
"""

import http.client
import sys

PORT = 8000


def main() -> int:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=4)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        body = response.read(100)
    except OSError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1
    if response.status != 200 or body != b"ok":
        print(f"healthcheck: HTTP {response.status} {body!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
