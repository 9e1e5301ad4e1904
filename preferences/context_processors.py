from django.utils.functional import SimpleLazyObject

from preferences.models import Theme, theme_of


def theme(request):
    """The user's theme for <html data-theme> (read only when a page renders it) and the
    choices the toggle offers."""
    user = getattr(request, "user", None)
    return {
        "theme": SimpleLazyObject(lambda: theme_of(user) if user is not None else Theme.AUTO),
        "theme_choices": Theme.choices,
    }
