"""A lab's time tested is a claim, checked against the upload's receive time; an upload
that fails for any reason ends failed, never "running"."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fangkong.accounts.tests.helpers import api_as
from fangkong.core.models import AuditEvent
from fangkong.labs import services
from fangkong.labs.files import ResultRow
from fangkong.labs.models import ResultUpload, TubeResult, UploadStatus

from .helpers import make_tube, people

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def tubes(tree, rnd, channel, clock):
    clock.move_to(NOW, tick=False)
    for barcode in ("T1", "T2", "T3"):
        make_tube(rnd, channel, barcode, people(tree.household_a1, 1, barcode))


def test_a_result_tested_in_year_one_is_refused_and_the_rest_go_in(lab, tubes):
    batch = {
        "results": [
            {"tube": "T1", "result": "阴性", "tested_at": "0001-01-01 00:00"},
            {"tube": "T2", "result": "阴性", "tested_at": "9999-12-31T23:59:59+08:00"},
            {"tube": "T3", "result": "阴性", "tested_at": "2026-11-23T09:00:00+20:00"},
        ]
    }
    response = api_as(lab).post("/labs/results", batch)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == 1
    errors = sorted((e["index"], e["field"], e["code"]) for e in body["errors"])
    assert errors == [(0, "tested_at", "too_old"), (1, "tested_at", "future")]
    old = next(e for e in body["errors"] if e["index"] == 0)
    assert "item 0" in old["message"] and "第0项" in old["message_zh"]
    assert "earlier than the accepted window" in old["message"]
    assert "检测时间" in old["message_zh"]
    (stored,) = TubeResult.objects.all()
    assert stored.tested_at == dt.datetime(2026, 11, 22, 13, 0, tzinfo=dt.UTC)


def test_a_file_row_tested_in_year_one_is_refused_by_row(lab, tubes, client_for):
    data = "试管条码,检测结果,检测时间\nT1,阴性,0001-01-01 00:00\nT2,阴性,2026-11-23 17:00\n"
    client_for(lab).post(
        reverse("labs:upload"), {"file": SimpleUploadedFile("r.csv", data.encode())}
    )
    upload = ResultUpload.objects.get()
    assert (upload.status, upload.created, upload.rejected) == ("done", 1, 1)
    (error,) = upload.errors
    assert (error["row"], error["column"], error["code"]) == (2, "tested_at", "too_old")
    assert "row 2" in error["en"] and "第2行" in error["zh"]


def _break_storing(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services.results, "_store_chunk", broken)


FILE = "试管条码,检测结果,检测时间\nT1,阴性,2026-11-23 17:00\n".encode()


def test_a_page_upload_that_fails_ends_failed_not_running(lab, tubes, client_for, monkeypatch):
    _break_storing(monkeypatch)
    response = client_for(lab).post(
        reverse("labs:upload"), {"file": SimpleUploadedFile("r.csv", FILE)}
    )
    assert response.status_code == 302
    upload = ResultUpload.objects.get()
    assert upload.status == UploadStatus.FAILED and upload.finished_at is not None
    assert "系统内部错误" in upload.error_zh and "internal error" in upload.error_en
    audit = AuditEvent.objects.get(event="labs.results_upload")
    assert audit.detail["status"] == "failed"


def test_a_queued_upload_that_fails_in_the_worker_ends_failed(
    lab, tubes, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setenv("FANGKONG_LABS_INLINE_MAX_BYTES", "10")
    with django_capture_on_commit_callbacks(execute=False):
        client_for(lab).post(reverse("labs:upload"), {"file": SimpleUploadedFile("r.csv", FILE)})
    upload = ResultUpload.objects.get()
    assert upload.status == UploadStatus.QUEUED
    _break_storing(monkeypatch)
    done = services.results_upload_run(upload_id=upload.pk)
    assert done.status == UploadStatus.FAILED
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED and bytes(upload.data) == b""


def test_an_api_batch_that_fails_ends_failed(lab, tubes, monkeypatch):
    _break_storing(monkeypatch)
    rows = [ResultRow(0, "T1", "negative", NOW - dt.timedelta(hours=1))]
    with pytest.raises(RuntimeError):
        services.results_batch_store(actor=lab, rows=rows)
    upload = ResultUpload.objects.get()
    assert upload.status == UploadStatus.FAILED and upload.source == "api"


def test_an_upload_whose_worker_died_is_failed_after_an_hour(lab, clock):
    clock.move_to(NOW, tick=False)
    stalled = ResultUpload.objects.create(lab=lab, status=UploadStatus.RUNNING)
    assert services.results_uploads_reap(older_than=dt.timedelta(hours=1)) == 0
    clock.shift(3601)
    fresh = ResultUpload.objects.create(lab=lab, status=UploadStatus.RUNNING)
    assert services.results_uploads_reap(older_than=dt.timedelta(hours=1)) == 1
    stalled.refresh_from_db()
    fresh.refresh_from_db()
    assert stalled.status == UploadStatus.FAILED and "worker died" in stalled.error_en
    assert fresh.status == UploadStatus.RUNNING
