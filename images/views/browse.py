"""Stub: being written."""

from django.http import Http404


def image_list(request, **kwargs):
    raise Http404("not yet")


def image_detail(request, **kwargs):
    raise Http404("not yet")


def search_hub(request, **kwargs):
    raise Http404("not yet")
