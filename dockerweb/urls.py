"""The default engine's URLconf: what `reverse()` gives outside a request (tests, commands).

Every engine has one of the same shape (dockerweb/engine_urls.py), chosen per request by
the engine its URL names (dockerweb/engine_scope.py).
"""

from django.conf import settings

from dockerweb.engine_specs import default_engine_name
from dockerweb.engine_urls import patterns_for

urlpatterns = patterns_for(default_engine_name(settings.DOCKERWEB_ENGINES))
