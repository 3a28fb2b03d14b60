"""A hostile results file is refused by the shared reader: a zip bomb in the request (a
failed upload saying why), a merged-range bomb by the worker; never a running upload."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fangkong.core.tests.hostile import count_calls, merge_bomb, repeated_merge_bomb
from fangkong.labs import files, services
from fangkong.labs.models import ResultUpload, UploadStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def reads(monkeypatch):
    return count_calls(monkeypatch, files, "open_sheets")


def _upload(client, data):
    return client.post(reverse("labs:upload"), {"file": SimpleUploadedFile("r.xlsx", data)})


def test_a_zip_bomb_fails_the_upload_in_the_request_without_reading_it(lab, client_for, reads):
    response = _upload(client_for(lab), repeated_merge_bomb())
    upload = ResultUpload.objects.get()
    assert response.status_code == 302 and not reads
    assert upload.status == UploadStatus.FAILED
    assert "zip bomb" in upload.error_en and "压缩比异常" in upload.error_zh


def test_a_merged_range_bomb_is_read_by_the_worker_and_refused(
    lab, client_for, reads, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        _upload(client_for(lab), merge_bomb())
    upload = ResultUpload.objects.get()
    assert upload.status == UploadStatus.QUEUED and len(queued) == 1 and not reads
    services.results_upload_run(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED
    assert "more than 200000 merged ranges" in upload.error_en
    assert "合并单元格区域超过上限" in upload.error_zh
