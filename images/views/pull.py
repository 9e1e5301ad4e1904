"""Stub: being written."""

from django.http import Http404


def pull_image(request, **kwargs):
    raise Http404("not yet")


def push_image(request, **kwargs):
    raise Http404("not yet")
