from django.urls import path

from dockerweb import url_converters  # noqa: F401 - registers <volume:…>
from volumes import files, sizes, views

app_name = "volumes"
urlpatterns = [
    path("", views.volume_list, name="list"),
    path("new/", views.create, name="create"),
    path("prune/", views.prune, name="prune"),
    path("sizes/", sizes.volume_sizes, name="sizes"),
    path("<volume:volume_name>/remove/", views.remove, name="remove"),
    path("<volume:volume_name>/files/", files.browse, name="files"),
    path("<volume:volume_name>/files/download/", files.download, name="files-download"),
    path("<volume:volume_name>/files/upload/", files.upload, name="files-upload"),
]
