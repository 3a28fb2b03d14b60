"""One notification service: inbox and live stream for users, a text message through
the adapter after commit, each user sees only their own."""

import json

import pytest
from django.db import transaction
from django.urls import reverse

from fangkong.accounts.tests.helpers import api_as
from fangkong.core.messaging import MemoryBackend
from fangkong.core.models import Notification
from fangkong.core.notifications import Recipient, notify, unread_count


@pytest.fixture(autouse=True)
def empty_outbox():
    MemoryBackend.outbox.clear()


def test_notify_writes_the_inbox_and_texts_after_commit(
    worker_a, volunteer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        told = notify(
            recipients=[Recipient(volunteer, "13800138000"), Recipient(None, "13900139000")],
            kind="workforce.callout",
            text_zh="紧急召集：东风社区需要2人",
            text_en="Call-out: 东风社区 needs 2 people",
            url="/x/",
            sms=True,
        )
    assert told == 2
    assert [n.text_zh for n in Notification.objects.filter(recipient=volunteer)] == [
        "紧急召集：东风社区需要2人"
    ]
    assert sorted(m.phone for m in MemoryBackend.outbox) == ["13800138000", "13900139000"]
    assert unread_count(volunteer) == 1 and unread_count(worker_a) == 0


def test_no_text_leaves_when_the_change_it_announces_rolls_back(volunteer):
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(recipients=[Recipient(volunteer, "13800138000")], kind="k", text_zh="甲", sms=True)
        raise RuntimeError
    assert MemoryBackend.outbox == [] and not Notification.objects.exists()


def test_the_stream_sends_only_news_and_only_the_users_own(client, worker_a, volunteer):
    notify(recipients=[Recipient(volunteer)], kind="k", text_zh="旧消息")
    client.force_login(volunteer)
    first = b"".join(client.get(reverse("core:notifications_stream")).streaming_content)
    assert "旧消息".encode() not in first  # a fresh page starts from now
    last = Notification.objects.get().id
    notify(recipients=[Recipient(volunteer)], kind="k", text_zh="新消息", url="/go/")
    notify(recipients=[Recipient(worker_a)], kind="k", text_zh="别人的消息")
    response = client.get(reverse("core:notifications_stream"), HTTP_LAST_EVENT_ID=str(last))
    assert response["Content-Type"] == "text/event-stream"
    body = b"".join(response.streaming_content).decode()
    (data,) = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    assert json.loads(data)["text"] == "新消息" and json.loads(data)["url"] == "/go/"


def test_the_inbox_page_and_marking_read(client, volunteer, worker_a):
    notify(recipients=[Recipient(volunteer), Recipient(worker_a)], kind="k", text_zh="通知一")
    client.force_login(volunteer)
    page = client.get(reverse("core:notifications"))
    assert "通知一" in page.content.decode() and page.context["unread_notifications"] == 1
    client.post(reverse("core:notifications_read"))
    assert unread_count(volunteer) == 0 and unread_count(worker_a) == 1


def test_the_api_lists_after_an_id_and_marks_only_ones_own(volunteer, worker_a):
    notify(recipients=[Recipient(volunteer)], kind="k", text_zh="一")
    notify(recipients=[Recipient(worker_a)], kind="k", text_zh="别人的")
    mine = api_as(volunteer).get("/notifications/").json()
    assert [n["text"] for n in mine] == ["一"]
    theirs = Notification.objects.get(recipient=worker_a).id
    marked = api_as(volunteer).post("/notifications/read", {"ids": [theirs]}).json()
    assert api_as(volunteer).post("/notifications/read", [None, None]).status_code == 422
    assert marked == {"marked": 0} and unread_count(worker_a) == 1
    assert api_as(volunteer).get(f"/notifications/?after={mine[0]['id']}").json() == []
