#!/bin/sh
# Container start: bring the database up to date, make sure there is an admin, then serve.
# Any arguments run instead of the server (e.g. `docker run … dockerweb python manage.py shell`).
set -eu
python manage.py migrate --noinput
python manage.py ensure_admin
if [ "$#" -gt 0 ]; then
    exec "$@"
fi
exec daphne -b 0.0.0.0 -p 8000 dockerweb.asgi:application
