"""The labs' upload page: bad rows listed by row, column and reason; retries harmless."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fangkong.labs.models import Recall, ResultUpload, TubeResult

from .helpers import make_tube, people

FILE = (
    "试管条码,检测结果,检测时间\n"
    "U1,阳性,2026-11-23 10:00\n"
    "NOPE,阴性,2026-11-23 10:00\n"
    "U2,不知道,2026-11-23 10:00\n"
    "U2,阴性,2026-11-23 10:00\n"
).encode()


def _upload(client, data=FILE, name="results.csv"):
    return client.post(reverse("labs:upload"), {"file": SimpleUploadedFile(name, data)})


def test_an_upload_lists_its_bad_rows_and_stores_the_good(tree, rnd, channel, lab, client_for):
    make_tube(rnd, channel, "U1", people(tree.household_a1, 2))
    make_tube(rnd, channel, "U2", people(tree.household_a1, 1, "乙"))
    client = client_for(lab)
    response = _upload(client)
    upload = ResultUpload.objects.get()
    assert response.url == reverse("labs:upload_detail", args=[upload.pk])
    assert (upload.rows, upload.created, upload.rejected, upload.recalls) == (4, 2, 2, 2)
    body = client.get(response.url).content.decode()
    assert "试管条码NOPE不存在" in body and "no tube NOPE" in body
    assert '<td class="num">3</td><td>tube</td>' in body
    assert '<td class="num">4</td><td>result</td>' in body


def test_uploading_the_same_file_again_changes_nothing(tree, rnd, channel, lab, client_for):
    make_tube(rnd, channel, "U1", people(tree.household_a1, 2))
    make_tube(rnd, channel, "U2", people(tree.household_a1, 1, "乙"))
    client = client_for(lab)
    _upload(client)
    _upload(client)
    second = ResultUpload.objects.order_by("-id").first()
    assert (second.created, second.unchanged) == (0, 2)
    assert TubeResult.objects.count() == 2 and Recall.objects.count() == 2


def test_a_file_without_a_required_column_fails_whole(lab, client_for):
    _upload(client_for(lab), "试管条码,结果\nU1,阴性\n".encode())
    upload = ResultUpload.objects.get()
    assert upload.status == "failed" and "检测时间" in upload.error_zh


def test_a_lab_sees_only_its_own_uploads(tree, lab, client_for):
    from .helpers import make_lab

    other = make_lab(tree, "lab2", "另一检测机构")
    _upload(client_for(other), "试管条码,结果\nU1,阴性\n".encode())
    theirs = ResultUpload.objects.get()
    assert client_for(lab).get(reverse("labs:upload_detail", args=[theirs.pk])).status_code == 404


def test_a_community_worker_cannot_upload(worker_a, client_for):
    assert _upload(client_for(worker_a)).status_code == 403


def test_a_big_file_is_stored_by_the_worker(
    tree, rnd, channel, lab, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    from fangkong.labs import services

    monkeypatch.setenv("FANGKONG_LABS_INLINE_MAX_BYTES", "10")
    make_tube(rnd, channel, "U1", people(tree.household_a1, 2))
    client = client_for(lab)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = _upload(client)
    upload = ResultUpload.objects.get()
    assert upload.status == "queued" and len(queued) == 1
    assert b"hx-trigger" in client.get(response.url).content  # the page polls
    done = services.results_upload_run(upload_id=upload.pk)
    assert (done.status, done.created, done.rejected) == ("done", 1, 3)
    assert bytes(ResultUpload.objects.get().data) == b""
    assert services.results_upload_run(upload_id=upload.pk) is None  # claimed once only
    partial = client.get(response.url, headers={"HX-Request": "true"}).content
    assert b"hx-trigger" not in partial and b"<html" not in partial
