from django.conf import settings
from django.db import models


class Theme(models.TextChoices):
    """How the portal looks for one person. Automatic follows the browser's
    prefers-color-scheme; the value is what base.html renders as <html data-theme>."""

    LIGHT = "light", "Light"
    DARK = "dark", "Dark"
    AUTO = "auto", "Automatic"


class Preferences(models.Model):
    """One person's display choices, kept on the server so they follow the user to every
    browser. A row exists only once the user chose something; no row means the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.AUTO)

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"{self.user} ({self.theme})"


def theme_of(user) -> str:
    if not user.is_authenticated:
        return Theme.AUTO
    chosen = Preferences.objects.filter(user=user).values_list("theme", flat=True).first()
    return chosen or Theme.AUTO
