"""Stub: being written."""

from django.http import Http404


def registry_list(request, **kwargs):
    raise Http404("not yet")


def registry_delete(request, **kwargs):
    raise Http404("not yet")
