from django.urls import path

from dockerweb import url_converters  # noqa: F401 - registers <image:…>
from images.views import browse, build, manage, pull, registries

app_name = "images"
urlpatterns = [
    path("", browse.image_list, name="list"),
    path("pull/", pull.pull_image, name="pull"),
    path("build/", build.build_image, name="build"),
    path("prune/", manage.prune, name="prune"),
    path("search/", browse.search_hub, name="search"),
    path("registries/", registries.registry_list, name="registries"),
    path("registries/<int:pk>/delete/", registries.registry_delete, name="registry-delete"),
    path("<image:reference>/tag/", manage.tag, name="tag"),
    path("<image:reference>/push/", pull.push_image, name="push"),
    path("<image:reference>/remove/", manage.remove, name="remove"),
    path("<image:reference>/", browse.image_detail, name="detail"),
]
