"""Relief on the worker's phone: the workforce app's "my duty" page shows the open
deliveries of the worker signed in (relief adds the panel; workforce does not import
relief), each with its next step, and nobody else's."""

import pytest
from django.urls import reverse

from fangkong.relief import services

from .conftest import ask
from .test_workforce_teams import worker_with_login

pytestmark = pytest.mark.django_db


def test_the_duty_page_lists_the_workers_own_open_deliveries_with_their_next_step(
    tree, asker, asker_b, worker_a, client_for
):
    mine = worker_with_login(tree.community_a, "赵送", "zhao_song")
    other = worker_with_login(tree.community_a, "钱送", "qian_song")
    to_accept = ask(asker, "medicine").request
    to_carry = ask(asker, "meals").request
    not_mine = ask(asker, "groceries").request
    done = ask(asker, "study").request
    for need in (to_accept, to_carry, done):
        services.request_dispatch(actor=worker_a, request=need, assignee=mine.user)
    services.request_dispatch(actor=worker_a, request=not_mine, assignee=other.user)
    services.request_accept(actor=mine.user, request=to_carry)
    services.request_accept(actor=mine.user, request=done)
    services.request_pick_up(actor=mine.user, request=done)
    services.request_deliver(actor=mine.user, request=done, code=done.confirm_code)

    page = client_for(mine.user).get(reverse("workforce:me")).content.decode()
    panel = page[page.index('id="relief-tasks"') :]
    assert f"relief-task-{to_accept.pk}" in panel and f"relief-task-{to_carry.pk}" in panel
    assert f"relief-task-{not_mine.pk}" not in panel and f"relief-task-{done.pk}" not in panel
    accept = reverse("relief:task_step", args=[to_accept.pk, "accept"])
    assert f'action="{accept}"' in panel  # accepting writes: a form, not a link
    assert reverse("relief:task", args=[to_carry.pk]) + "#pick-up-form" in panel
    assert "幸福小区1号楼" in panel and "138" not in panel  # the address, no phone number

    assert client_for(mine.user).post(accept).status_code == 302
    to_accept.refresh_from_db()
    assert to_accept.status == "accepted" and to_accept.assignee == mine.user

    theirs = client_for(other.user).get(reverse("workforce:me")).content.decode()
    assert f"relief-task-{not_mine.pk}" in theirs and f"relief-task-{to_carry.pk}" not in theirs
