from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path(
        "",
        # GET only: a POST here changes nothing and must not look like it could.
        RedirectView.as_view(
            pattern_name="containers:list", permanent=False, http_method_names=["get", "head"]
        ),
        name="home",
    ),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("containers/", include("containers.urls")),
    path("images/", include("images.urls")),
    path("volumes/", include("volumes.urls")),
    path("networks/", include("networks.urls")),
    path("jobs/", include("jobs.urls")),
    path("audit/", include("audit.urls")),
    path("admin/", admin.site.urls),
]
