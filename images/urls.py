"""Image URLs.

Routes that act on one image put the verb first and the image reference last:
`/images/view/<reference>/`, `/images/tag/…`, `/images/push/…`, `/images/remove/…`.
A reference may hold `/` (`registry:5000/myorg/push:1`), so with the reference first
(`/images/<reference>/push/`) the path alone could not say whether `/images/myorg/push/` is
image `myorg/push`'s page or the push view of `myorg`. With the verb first, the first segment
is always a fixed word and everything after it up to the final `/` is the reference, so every
reference the grammar allows, however it is named, has exactly one URL and gets back exactly
itself (tests/test_image_urls.py). The reference stays in the path rather than a query
parameter: `/images/view/localhost:5000/x/y:latest/` reads like the name users type and can be
shared as it is (`:`, `@` and `/` need no escaping in a path; only an IPv6 host's brackets do).
"""

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
    path("view/<image:reference>/", browse.image_detail, name="detail"),
    path("tag/<image:reference>/", manage.tag, name="tag"),
    path("push/<image:reference>/", pull.push_image, name="push"),
    path("remove/<image:reference>/", manage.remove, name="remove"),
]
