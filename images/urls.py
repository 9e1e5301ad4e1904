from django.urls import path, register_converter

from images.views import browse, build, manage, pull, registries


class ImageRefConverter:
    """An image id (sha256:…), short id, or reference with registry, path and tag."""

    regex = r"[A-Za-z0-9][A-Za-z0-9._:/@-]*?"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ImageRefConverter, "image")

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
