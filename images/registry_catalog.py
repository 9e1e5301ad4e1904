"""What the admin-configured registries hold: repositories (`/v2/_catalog`) and their tags.

These are HTTP calls from the portal to a registry, not engine calls. They keep to the rules
pulls keep to (images/image_reach.py): only registries an administrator added under
Images → Registries are asked, never an address a user typed; redirects are not followed
(a registry could point the portal at its own host's metadata or loopback services); a
token realm on the host's own addresses is refused unless it is the registry's own host.
Every call has a short timeout and a size cap, and answers are cached briefly, so a page
that searches as the user types costs a registry a few calls a minute, not one per key.
"""

import concurrent.futures
import json
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from images.image_reach import host_of, is_hosts_own
from images.models import Registry

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 3.0
# One registry's whole answer (catalog + tags) must come within this, or it is left out.
REGISTRY_DEADLINE = 5.0
CACHE_SECONDS = 30.0
MAX_BODY = 1_000_000  # bytes of JSON read from any one answer
CATALOG_PAGE = 200  # repositories asked for per registry
TAGGED_REPOSITORIES = 12  # repositories whose tags are fetched per search
TAGS_SHOWN = 20
# /v2/ names: lowercase path components (the distribution spec's grammar, loosely).
REPOSITORY_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")


class CatalogError(Exception):
    """A registry could not be listed; the message is fit to show."""


@dataclass(frozen=True, slots=True)
class RegistryRepository:
    registry: str  # host[:port], as in image names
    name: str  # repository path inside the registry
    tags: tuple[str, ...]

    @property
    def reference(self) -> str:
        return f"{self.registry}/{self.name}"


@dataclass(frozen=True, slots=True)
class RegistryAnswer:
    registry: str
    repositories: tuple[RegistryRepository, ...] = ()
    problem: str = ""


def search_all(query: str, *, limit: int = TAGGED_REPOSITORIES) -> list[RegistryAnswer]:
    """Each configured registry's repositories matching `query` (all when empty), asked in
    parallel; a registry that fails or is slow answers with its problem, alone."""
    registries = list(Registry.objects.all())
    if not registries:
        return []
    logins = [(r.address, r.auth_config()) for r in registries]
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=min(8, len(logins)), thread_name_prefix="registry-catalog"
    )
    try:
        futures = [
            (address, pool.submit(_search_one, address, auth, query, limit))
            for address, auth in logins
        ]
        deadline = time.monotonic() + REGISTRY_DEADLINE
        answers = []
        for address, future in futures:
            try:
                answers.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
            except concurrent.futures.TimeoutError:
                answers.append(RegistryAnswer(address, problem="it did not answer in time"))
        return answers
    finally:
        # A slow registry's thread ends with its own timeouts; nobody waits for it.
        pool.shutdown(wait=False, cancel_futures=True)


def _search_one(address: str, auth: dict, query: str, limit: int) -> RegistryAnswer:
    try:
        names = _catalog(address, auth)
        needle = query.lower().strip()
        matching = [n for n in names if needle in n.lower()][:limit]
        repositories = tuple(
            RegistryRepository(address, name, _tags(address, auth, name)) for name in matching
        )
    except CatalogError as exc:
        return RegistryAnswer(address, problem=str(exc))
    return RegistryAnswer(address, repositories=tuple(r for r in repositories if r.tags))


def _catalog(address: str, auth: dict) -> list[str]:
    document = _cached_get(address, auth, f"/v2/_catalog?n={CATALOG_PAGE}")
    names = document.get("repositories") or []
    return [n for n in names if isinstance(n, str) and REPOSITORY_RE.match(n)]


def _tags(address: str, auth: dict, name: str) -> tuple[str, ...]:
    try:
        document = _cached_get(address, auth, f"/v2/{name}/tags/list")
    except CatalogError:
        return ()  # one repository without tags (or gone) doesn't spoil the others
    tags = [t for t in document.get("tags") or [] if isinstance(t, str) and TAG_RE.match(t)]
    # "latest" first, as a Create without choosing would want it; then newest-looking last.
    tags.sort(key=lambda t: (t != "latest", t))
    return tuple(tags[:TAGS_SHOWN])


# -- HTTP, bounded and cached --------------------------------------------------------------------

_cache: dict[tuple[str, str, str], tuple[float, dict]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _cached_get(address: str, auth: dict, path: str) -> dict:
    # Keyed by the login too: two admins' logins for one address may see different things.
    key = (address, auth.get("username", ""), path)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    document = _get(address, auth, path)
    with _cache_lock:
        _cache[key] = (time.monotonic(), document)
    return document


def base_url(address: str) -> str:
    """As the engine reaches it: plain HTTP only on the host's own loopback (which the
    engine treats as an insecure registry by default), HTTPS everywhere else."""
    host = host_of(address)
    scheme = "http" if _is_loopback_name(host) else "https"
    return f"{scheme}://{address}"


def _is_loopback_name(host: str) -> bool:
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _get(address: str, auth: dict, path: str) -> dict:
    url = base_url(address) + path
    login = (auth.get("username", ""), auth.get("password", ""))
    with requests.Session() as http:
        http.trust_env = False  # no proxy from the environment sees the registry's login
        response = _request(http, url, auth=login)
        if response.status_code == 401:
            token = _bearer_token(http, address, response, login)
            if token:
                response.close()
                response = _request(http, url, headers={"Authorization": f"Bearer {token}"})
        return _json_of(response, address)


def _request(http, url: str, **kwargs):
    try:
        return http.get(
            url,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            allow_redirects=False,
            stream=True,
            **kwargs,
        )
    except requests.Timeout:
        raise CatalogError("it did not answer in time") from None
    except requests.RequestException:
        raise CatalogError("it can't be reached from the portal") from None


def _json_of(response, address: str) -> dict:
    with response:
        if response.status_code in (401, 403):
            raise CatalogError("the stored login may not list it")
        if response.status_code == 404:
            raise CatalogError("it has no catalog (the /v2/_catalog API is off)")
        if response.status_code != 200:
            raise CatalogError(f"it answered HTTP {response.status_code}")
        body = bytearray()
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > MAX_BODY:
                raise CatalogError("its answer is too large")
    try:
        document = json.loads(body)
    except ValueError:
        raise CatalogError("its answer is not JSON") from None
    if not isinstance(document, dict):
        raise CatalogError("its answer is not a catalog")
    return document


_CHALLENGE_RE = re.compile(r'(\w+)="([^"]*)"')


def _bearer_token(http, address: str, challenge, login) -> str:
    """Token authentication (Docker Hub style): ask the realm the registry names, with the
    stored login. The realm must be HTTPS, or the registry's own host; never another
    address on the portal's own host."""
    header = challenge.headers.get("WWW-Authenticate", "")
    if not header.lower().startswith("bearer "):
        return ""
    params = dict(_CHALLENGE_RE.findall(header))
    realm = urlsplit(params.get("realm", ""))
    if realm.scheme not in ("http", "https") or not realm.hostname:
        return ""
    same_host = realm.hostname == host_of(address).strip("[]")
    if not same_host and (realm.scheme != "https" or is_hosts_own(realm.hostname)):
        return ""
    query = {k: v for k, v in params.items() if k in ("service", "scope")}
    try:
        answer = _json_of(
            http.get(
                realm.geturl(),
                params=query,
                auth=login,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
                stream=True,
            ),
            address,
        )
    except (requests.RequestException, CatalogError):
        return ""
    token = answer.get("token") or answer.get("access_token") or ""
    return token if isinstance(token, str) else ""
