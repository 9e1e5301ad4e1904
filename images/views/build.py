"""Stub: being written."""

from django.http import Http404


def build_image(request, **kwargs):
    raise Http404("not yet")
