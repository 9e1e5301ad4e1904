"""Stub: being written."""

from django.http import Http404


def prune(request, **kwargs):
    raise Http404("not yet")


def tag(request, **kwargs):
    raise Http404("not yet")


def remove(request, **kwargs):
    raise Http404("not yet")
