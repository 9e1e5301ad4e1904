"""Create the first admin (user `admin`) if there is none; used by `make run`.

The password comes from DOCKERWEB_ADMIN_PASSWORD, or is generated and printed once.
There is deliberately no first-run page reachable over HTTP.
"""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the `admin` superuser if it does not exist (password from DOCKERWEB_ADMIN_PASSWORD)."

    def handle(self, *args, **options):
        User = get_user_model()
        password = os.environ.get("DOCKERWEB_ADMIN_PASSWORD", "")
        user = User.objects.filter(username="admin").first()
        if user is not None:
            if password and not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write("Admin user 'admin': password set from DOCKERWEB_ADMIN_PASSWORD.")
            return
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", email="", password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    f"Created admin user 'admin' with password: {password}\n"
                    "It is shown only this once; set DOCKERWEB_ADMIN_PASSWORD to choose your own."
                )
            )
        else:
            self.stdout.write(
                "Created admin user 'admin' (password from DOCKERWEB_ADMIN_PASSWORD)."
            )
