"""Roster import and export pages (being written)."""

from django.http import Http404


def import_page(request):
    raise Http404


def import_status(request, pk):
    raise Http404


def import_report(request, pk):
    raise Http404


def export(request):
    raise Http404
