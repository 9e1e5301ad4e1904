"""The engine requests docker-py's public API can't make the way the portal needs them.

docker-py's public methods each build a request and hand back a decoded answer (or a
generator of one): none gives the HTTP response itself, takes a timeout per call, or keeps
the headers. Where the portal needs one of those, it makes the request with docker-py's own
private helpers (`client._url`, `_get`, `_post`, `_post_json`, `_stream_helper`), which keep
what the public methods get right: the negotiated API version in the path, percent-quoted
arguments, the client's TLS and pool, its default timeout and headers.

Those helpers are not docker-py's promise: every use of them is in this module, so an
upgrade that changes them breaks here alone (tests/test_gateway_boundaries.py keeps it so).
Callers wrap these calls in `translate_errors()` like any other engine call.
"""

from collections.abc import Iterator

import docker
import docker.errors
import requests
import requests.exceptions

# The client's own timeout (DOCKER_TIMEOUT); `timeout=None` means none at all.
CLIENT_TIMEOUT = object()


def _request_kwargs(params, headers, stream: bool, timeout) -> dict:
    kwargs = {"params": params, "headers": headers, "stream": stream}
    if timeout is not CLIENT_TIMEOUT:
        kwargs["timeout"] = timeout  # absent: docker-py puts the client's timeout in
    return kwargs


def get(
    client: docker.APIClient,
    path: str,
    *args: str,
    params: dict | None = None,
    headers: dict | None = None,
    stream: bool = False,
    timeout=CLIENT_TIMEOUT,
) -> requests.Response:
    """GET `path` ("/containers/{0}/archive", each of `args` percent-quoted into it) and
    return the response itself; an error status raises docker-py's error (NotFound,
    APIError… with the engine's message), the response closed first.

    Why not the public API: `ping()` drops the answer's Date header (the engine's clock),
    `df()` takes no timeout (the disk-usage query may take minutes), `get_archive()` hides
    the response behind a chunk generator (a tar stream must be read as it comes, and
    closed from another thread), and `logs()` the same for a followed log stream.
    """
    response = client._get(
        client._url(path, *args), **_request_kwargs(params, headers, stream, timeout)
    )
    raise_for_status(response)
    return response


def post(
    client: docker.APIClient,
    path: str,
    *args: str,
    data=None,
    params: dict | None = None,
    headers: dict | None = None,
    stream: bool = False,
    timeout=CLIENT_TIMEOUT,
) -> requests.Response:
    """POST `data` (bytes, or a file object streamed as it is read) to `path`, as `get`.

    Why not the public API: `pull()` and `build()` give a generator of decoded messages
    but not the response, which a job must close from another thread to stop the work;
    and both send the credentials of the portal's own ~/.docker/config.json to the engine
    when the user gave none (`build()` all of them, in X-Registry-Config).
    """
    kwargs = _request_kwargs(params, headers, stream, timeout)
    response = client._post(client._url(path, *args), data=data, **kwargs)
    raise_for_status(response)
    return response


def post_json(
    client: docker.APIClient,
    path: str,
    *args: str,
    body: dict | None = None,
    params: dict | None = None,
    headers: dict | None = None,
    stream: bool = False,
    timeout=CLIENT_TIMEOUT,
) -> requests.Response:
    """POST `body` as JSON (docker-py's way: its None values left out) to `path`, as `get`.

    Why not the public API: `push()` gives a generator, not the response a job closes
    from another thread, and without credentials reads the server's ~/.docker/config.json.
    """
    kwargs = _request_kwargs(params, headers, stream, timeout)
    response = client._post_json(client._url(path, *args), body, **kwargs)
    raise_for_status(response)
    return response


def raise_for_status(response: requests.Response) -> None:
    """Raise docker-py's error for an error status, as its public methods would (NotFound,
    ImageNotFound, APIError with the engine's message), after closing the response.

    Public, but only as docker-py's own building block: its methods call it for the
    requests they make, and these requests are not theirs.
    """
    try:
        response.raise_for_status()
    except requests.exceptions.HTTPError as exc:
        try:
            docker.errors.create_api_error_from_http_exception(exc)
        finally:
            response.close()


def json_messages(client: docker.APIClient, response: requests.Response) -> Iterator[dict]:
    """The JSON messages of a streamed answer (pull, push, build progress), decoded as
    they arrive; an answer that is not chunked (an early error) is one message.

    Why not the public API: it is docker-py's own decoder, which the public `pull()`,
    `push()` and `build()` use on the responses they keep to themselves (see `post`).
    """
    return client._stream_helper(response, decode=True)


def negotiate_version(client: docker.APIClient) -> None:
    """What `version="auto"` does at construction, done after the client is configured
    (`trust_env` off): docker-py keeps the agreed version in a private attribute."""
    client._version = client._retrieve_server_version()


def replace_adapter(client: docker.APIClient, prefix: str, adapter) -> None:
    """Send the client's requests for `prefix` through `adapter` instead of the transport
    docker-py built, which is closed.

    Why not the public API: docker-py builds an SSH client's transport itself, from the
    portal user's ~/.ssh/config, known_hosts and agent (gateway/ssh.py explains); requests'
    public `mount` routes the requests, and docker-py keeps its adapter in a private
    attribute too (its fallback for URLs no mount matches), which must be the same one.
    """
    previous = client._custom_adapter
    client._custom_adapter = adapter
    client.mount(prefix, adapter)
    if previous is not None and previous is not adapter:
        previous.close()
