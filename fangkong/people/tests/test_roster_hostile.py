"""A hostile roster never gets parsed inside a request and never holds a worker: the
request runs the reader's cheap checks, the task reads within its limits."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fangkong.core.tests.hostile import count_calls, merge_bomb, repeated_merge_bomb
from fangkong.people.models import ImportJob, ImportStatus, ImportUpload, Resident
from fangkong.people.roster import importing, parsing

pytestmark = pytest.mark.django_db


def _upload(client, area, data: bytes, name="花名册.xlsx"):
    return client.post(
        reverse("people:import"), {"area": area.code, "file": SimpleUploadedFile(name, data)}
    )


@pytest.fixture
def parses(monkeypatch):
    """How many times the roster reader was opened."""
    return count_calls(monkeypatch, parsing, "open_sheets")


def test_a_zip_bomb_is_refused_in_the_request_without_parsing(client_for, worker_a, tree, parses):
    response = _upload(client_for(worker_a), tree.community_a, repeated_merge_bomb())
    assert response.status_code == 200
    page = response.content.decode()
    assert "压缩比异常" in page and "zip bomb" in page
    assert not parses and not ImportJob.objects.exists()


def test_a_merged_range_bomb_is_left_to_the_task_which_refuses_it_in_both_languages(
    client_for, worker_a, tree, parses, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = _upload(client_for(worker_a), tree.community_a, merge_bomb())
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.status == ImportStatus.QUEUED
    assert len(queued) == 1 and not parses  # stored and enqueued; nothing parsed
    importing.roster_import_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "more than 200000 merged ranges" in job.error_en
    assert "合并单元格区域超过上限" in job.error_zh
    assert not Resident.objects.exists()
    assert not ImportUpload.objects.filter(job=job).exists()  # the file is not kept
