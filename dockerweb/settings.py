"""Django settings for dockerweb, read from the environment (see README's settings table)."""

from datetime import timedelta
from pathlib import Path

import dj_database_url

from dockerweb.channel_layers import redis_layer
from dockerweb.env import (
    data_dir,
    env_abs_paths,
    env_bool,
    env_docker_host,
    env_engines,
    env_float,
    env_hosts,
    env_int,
    env_list,
    env_str,
    env_url,
    persistent_secret_key,
)
from dockerweb.private_files import private_sqlite

BASE_DIR = Path(__file__).resolve().parent.parent

# Everything the portal writes (SQLite database, generated keys) lives here, private to the
# portal's user (dockerweb/private_files.py: folder 0700, files 0600).
DATA_DIR = data_dir("DOCKERWEB_DATA_DIR", BASE_DIR / "var")

SECRET_KEY = env_str("DOCKERWEB_SECRET_KEY") or persistent_secret_key(DATA_DIR)
DEBUG = env_bool("DOCKERWEB_DEBUG", False)
_SERVED_AS = env_hosts("DOCKERWEB_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
ALLOWED_HOSTS = list(dict.fromkeys(host for host, _ in _SERVED_AS))
# Entries given with a port are also addresses the portal is served at (e.g. the outside
# address of a proxy that rewrites Host): pages there may open its websockets
# (dockerweb/origins.py). Websockets otherwise come only from the address they were sent to.
PORTAL_ADDRESSES = [f"{host}:{port}" for host, port in _SERVED_AS if port is not None]
# Exact origins (scheme://host[:port]) of a TLS proxy in front: trusted by CSRF and websockets.
CSRF_TRUSTED_ORIGINS = env_list("DOCKERWEB_CSRF_TRUSTED_ORIGINS", [])

# The engine, addressed the way the docker CLI does (TLS via DOCKER_TLS_VERIFY/DOCKER_CERT_PATH).
DOCKER_HOST = env_docker_host("DOCKER_HOST")
# Several engines by name (dockerweb/engines.py); empty = one engine, "local", at DOCKER_HOST.
DOCKERWEB_ENGINES = env_engines("DOCKERWEB_ENGINES")
# Host folders admins may bind-mount into containers (dockerweb/host_access/binds.py); empty = none.
BIND_ROOTS = env_abs_paths("DOCKERWEB_BIND_ROOTS")
# Seconds for ordinary engine calls; streams (logs, events) never time out.
DOCKER_TIMEOUT = env_float("DOCKERWEB_DOCKER_TIMEOUT", 10.0, minimum=0.5)
# The engine's disk-usage query (volume sizes) walks every volume: slow on a busy engine, so it
# gets a timeout of its own, and its answer is kept briefly and shared by everyone looking.
DF_TIMEOUT = env_float("DOCKERWEB_DF_TIMEOUT", 30.0, minimum=0.5)
DF_CACHE_SECONDS = env_float("DOCKERWEB_DF_CACHE_SECONDS", 10.0)
# The dashboard's top containers (dashboard/sampler.py): while someone looks, a round every
# DASHBOARD_SAMPLE_SECONDS measures at most DASHBOARD_SAMPLE_MAX running containers (one stats
# call each, about a second), DASHBOARD_SAMPLE_PARALLEL at a time, least recently measured first.
DASHBOARD_SAMPLE_MAX = env_int("DOCKERWEB_DASHBOARD_SAMPLE_MAX", 40, minimum=1, maximum=1000)
DASHBOARD_SAMPLE_PARALLEL = env_int("DOCKERWEB_DASHBOARD_SAMPLE_PARALLEL", 4, minimum=1, maximum=64)
DASHBOARD_SAMPLE_SECONDS = env_float("DOCKERWEB_DASHBOARD_SAMPLE_SECONDS", 10.0, minimum=1.0)

# Largest build context a user may upload (bytes).
BUILD_UPLOAD_LIMIT = env_int("DOCKERWEB_BUILD_UPLOAD_LIMIT", 200 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Log viewer: lines sent on open, and the most lines the browser keeps on screen.
LOG_TAIL_DEFAULT = env_int("DOCKERWEB_LOG_TAIL", 1000, minimum=0, maximum=1_000_000)
LOG_LINES_KEPT = env_int("DOCKERWEB_LOG_LINES_KEPT", 10_000, minimum=100, maximum=1_000_000)

# Open streaming websockets (logs, job output, later terminal and stats): per user, and in
# all for this process (dockerweb/stream_limits.py). 16 is more tabs than anyone reads at
# once. The process cap bounds what a busy hour can take: a log socket holds a thread, an
# engine connection, a client connection and a 256 KB read-ahead buffer, so 128 of them
# stay far inside the usual 1,024 open files and take at most 32 MB of buffers — eight
# users at their cap, or a team of thirty with a few tabs each.
STREAMS_PER_USER = env_int("DOCKERWEB_STREAMS_PER_USER", 16, minimum=1, maximum=10_000)
STREAMS_PER_PROCESS = env_int("DOCKERWEB_STREAMS_PER_PROCESS", 128, minimum=1, maximum=100_000)
# Log bytes a second one user's streams share. Reading a screenful needs far less; relaying
# without a bound, one user's 16 sockets on a busy container made everyone else's pages
# 6 × slower, at 2 MB/s about 1.2 × (bench/stream_fairness.py, 2 cores).
STREAM_BYTES_PER_USER = env_int("DOCKERWEB_STREAM_BYTES_PER_USER", 2_000_000, minimum=10_000)

# Terminal tab: a terminal with no bytes either way for this long is ended (its processes
# too); and the most terminals one person may have open at once.
TERMINAL_IDLE_SECONDS = env_int("DOCKERWEB_TERMINAL_IDLE_SECONDS", 900, minimum=1, maximum=86_400)
TERMINALS_PER_USER = env_int("DOCKERWEB_TERMINALS_PER_USER", 4, minimum=1, maximum=100)

INSTALLED_APPS = [
    "daphne",  # first, so `runserver` serves websockets too
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "dockerweb",
    "audit",
    "jobs",
    "containers",
    "images",
    "volumes",
    "networks",
    "swarm",
    "engines",
    "dashboard",
    "roles",
    "preferences",
    "axes",  # log-in throttling; its lockouts are listed and removed in the admin
]

MIDDLEWARE = [
    # Outermost, so every response gets the Content-Security-Policy, static files included.
    "dockerweb.csp.content_security_policy",
    # GET /healthz answered before anything that may ask the database (dockerweb/health.py).
    "dockerweb.health.answer_healthz",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The engine the URL names: checked, and current for the rest of the request.
    "dockerweb.engine_scope.EngineScopeMiddleware",
    # Deny by default: every view needs a logged-in user unless marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as axes asks: turns a locked-out log-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dockerweb.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dockerweb.context_processors.portal",
                "preferences.context_processors.theme",
            ],
        },
    },
]

ASGI_APPLICATION = "dockerweb.asgi.application"
WSGI_APPLICATION = None

# SQLite in the data directory needs no server and suits a team portal's small write load;
# DATABASE_URL (postgres://…) switches to PostgreSQL for larger installs.
DATABASE_URL = env_url("DATABASE_URL", {"postgres", "postgresql", "pgsql", "sqlite"})
SQLITE_PATH = DATA_DIR / "dockerweb.sqlite3"
if not DATABASE_URL:
    private_sqlite(SQLITE_PATH)  # 0600 before SQLite creates it (0644) itself
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)
    if DATABASE_URL
    else {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": SQLITE_PATH,
        # WAL: pages read while job threads write; synchronous=NORMAL is WAL's safe pairing
        # (no corruption on a crash) and saves an fsync on every small write.
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}

# In-memory channel layer for one process; REDIS_URL for several (e.g. behind a balancer).
REDIS_URL = env_url("REDIS_URL", {"redis", "rediss", "unix"})
CHANNEL_LAYERS = {
    "default": redis_layer(REDIS_URL)
    if REDIS_URL
    else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# The axes backend comes first: it refuses a locked-out client before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Roles given on some engines only (dockerweb/engine_access.py).
    "dockerweb.engine_access.EngineGrantBackend",
]

# Log-in throttling (django-axes). Failures count per username and per client address, each on
# its own, so neither many names from one machine nor one name from many machines gets far.
AXES_FAILURE_LIMIT = env_int("DOCKERWEB_LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=1000)
_cooloff_minutes = env_float("DOCKERWEB_LOGIN_COOLOFF_MINUTES", 15.0)
# 0 minutes: locked until an admin unlocks (axes takes None as "no cool-off").
AXES_COOLOFF_TIME = timedelta(minutes=_cooloff_minutes) if _cooloff_minutes else None
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Guesses during a lockout are refused without moving its end, so the lockout page can say
# when it ends (and retrying can't stretch someone else's lockout).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A successful log-in doesn't wipe the failures counted against its address: otherwise one
# valid account would let its holder guess at everyone else's from the same machine.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "dockerweb.login_throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "dockerweb.login_throttle.client_address"
# The server log names the username and address of failures (passwords are always masked):
# that is what an admin needs to see who is being guessed at, and from where.
AXES_SENSITIVE_PARAMETERS: list[str] = []
# Reverse proxies in front of the portal that append to X-Forwarded-For; 0 = the header is
# ignored (anyone can send it) and the connection's own address counts.
PROXY_COUNT = env_int("DOCKERWEB_PROXY_COUNT", 0, minimum=0, maximum=10)

LOGIN_URL = "login"
# The containers of the engine the user last used, or of their first (dockerweb/engine_scope.py).
LOGIN_REDIRECT_URL = "/containers/"
LOGOUT_REDIRECT_URL = "login"

# Behind a TLS proxy (README): Secure cookies, HSTS, and trusting the proxy's word that the
# request came over HTTPS. X-Forwarded-Proto is a header anyone can send, so it counts only
# when declared, and only the proxy must be able to reach the portal then.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DOCKERWEB_SECURE_COOKIES", False)
SECURE_HSTS_SECONDS = env_int("DOCKERWEB_HSTS_SECONDS", 0, minimum=0, maximum=10 * 365 * 86400)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env_bool("DOCKERWEB_TRUST_X_FORWARDED_PROTO", False)
    else None
)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TZ", "UTC") or "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# Front-end packages from npm (package.json, installed by `make` with `npm ci` into
# node_modules/, never committed), each served under static/vendor/<name>/ — only the
# folders a page needs, not the whole node_modules tree.
VENDOR_ASSETS = {
    "xterm": "@xterm/xterm",
    "xterm-addon-fit": "@xterm/addon-fit/lib",
    "uplot": "uplot/dist",
}
STATICFILES_DIRS = [
    BASE_DIR / "static",
    *(
        (f"vendor/{name}", BASE_DIR / "node_modules" / folder)
        for name, folder in VENDOR_ASSETS.items()
    ),
]
# Static files are served from the finders (app dirs, static/, django-htmx's bundled htmx),
# so there is no collectstatic step to forget. The container image (Dockerfile) collects them
# at build time into DOCKERWEB_STATIC_ROOT and serves that folder alone.
STATIC_ROOT = env_str("DOCKERWEB_STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = STATIC_ROOT is None
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DOCKERWEB_LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "docker": {"level": "WARNING"},
        # Failed log-ins and lockouts are warnings; the start-up banner and successes are not.
        "axes": {"level": "WARNING"},
    },
}
