from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard.views import home

urlpatterns = [
    path("", home, name="home"),
    path("dashboard/", include("dashboard.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("containers/", include("containers.urls")),
    path("images/", include("images.urls")),
    path("volumes/", include("volumes.urls")),
    path("networks/", include("networks.urls")),
    path("swarm/", include("swarm.urls")),
    path("jobs/", include("jobs.urls")),
    path("audit/", include("audit.urls")),
    path("preferences/", include("preferences.urls")),
    path("admin/", admin.site.urls),
]
