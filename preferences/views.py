from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from preferences.forms import ThemeForm
from preferences.models import Preferences


@login_required
@require_POST
def set_theme(request):
    """The user's Light / Dark / Automatic choice. It is the user's own display setting: any
    logged-in user may set theirs, no permission is needed and no engine state changes (so
    there is no audit entry). theme.js posts it in the background (204); without scripts the
    form submits and comes back to the page it was on."""
    form = ThemeForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Unknown theme: choose Light, Dark or Automatic.")
    Preferences.objects.update_or_create(
        user=request.user, defaults={"theme": form.cleaned_data["theme"]}
    )
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    # Back to the page the form was on: a path of this portal, never a name redirect() would
    # look up as a view, never another site.
    back = form.cleaned_data["next"]
    safe = back.startswith("/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return HttpResponseRedirect(back) if safe else redirect("home")
