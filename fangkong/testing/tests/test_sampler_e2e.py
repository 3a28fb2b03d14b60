"""A sampler on a phone keeps working through an outage, and nothing is lost or doubled.

Chromium (Debian's) drives the real page against a live server: scans go through the
one input as a keyboard-wedge scanner types them (text, then Enter).
"""

import dataclasses
import datetime as dt
import json
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import expect

from fangkong.areas.models import Household
from fangkong.core.idnumbers import IdNumberError, make_mainland, parse_mainland
from fangkong.factories import area, make_resident, new_id_number
from fangkong.people.codes import CodeClaims, code_for, sign_claims
from fangkong.testing.models import Sample, Tube, UploadEvent

from .conftest import upload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ALL_EVENTS_JS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("fangkong-sampler");
  open.onsuccess = () => {
    const req = open.result.transaction("events").objectStore("events").getAll();
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  };
  open.onerror = () => reject(open.error);
})"""


def forged(code: str) -> str:
    """The code with one character of its signature changed."""
    i = len(code) - 10
    return code[:i] + ("A" if code[i] != "A" else "B") + code[i + 1 :]


def login(page, username):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def scan(page, text):
    """What a keyboard-wedge scanner does: type fast into the focused input, then Enter."""
    box = page.locator("#scan-input")
    box.press_sequentially(text, delay=0)
    box.press("Enter")


def said(page, *texts: str) -> None:
    """The message line comes to show every one of `texts` (it is written asynchronously)."""
    for text in texts:
        expect(page.locator("#sampler-message")).to_contain_text(text)


def wait_pending(page, n: int, timeout=30_000):
    page.locator(f"#sampler[data-pending='{n}']").wait_for(timeout=timeout)


@pytest.fixture
def outsider(tree):
    """A resident of another street: outside the round's areas."""
    street = area(f"{tree.district.code}002", "另一街道", tree.district)
    community = area(f"{street.code}001", "别的社区", street)
    compound = area(f"{community.code}001", "别的小区", community)
    building = area(f"{compound.code}001", "9号楼", compound)
    return make_resident(Household.objects.create(building=building, room="901"), "外来人")


def test_a_sampler_keeps_working_offline_and_every_sample_arrives_once(
    phone_page, live_server, rnd, site_a, sampler, people_a, outsider, channel_a2, tree
):
    page = phone_page
    context = page.context
    typed = make_resident(tree.household_a2, "无码老人")  # has no phone: ID typed by hand
    unknown_id = new_id_number()  # a valid ID number of nobody registered
    # Another channel already used this barcode.
    upload(sampler, channel_a2.tube([], barcode="TAKEN0001", seal=False), device="other")

    login(page, "sampler_a")
    page.goto("/testing/sampler/")
    page.wait_for_selector("#sampler[data-ready=true]")
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 361

    # Pick site and channel (the only round and site are chosen already), pool of 5.
    assert page.locator("#setup-round").input_value() == str(rnd.pk)
    assert page.locator("#setup-site").input_value() == str(site_a.pk)
    channel = site_a.channels.order_by("name")[0]
    page.select_option("#setup-channel", str(channel.pk))
    page.select_option("#setup-pool", "5")
    page.click("#setup-done")

    # Tube 1: online for the first three people.
    scan(page, "T0000001")
    said(page, "T0000001")
    for r in people_a[:3]:
        scan(page, code_for(r))
        page.get_by_text(f"{r.name} {r.id_masked} ✓").first.wait_for()
    expect(page.locator("#tube-count")).to_have_text("3 / 5")
    wait_pending(page, 0)

    # The network goes. Scanning goes on.
    context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    scan(page, code_for(people_a[3]))
    scan(page, code_for(people_a[4]))
    expect(page.locator("#tube-count")).to_have_text("5 / 5")
    scan(page, code_for(typed))  # a sixth person: refused, the tube is full
    said(page, "试管已满", "seal it")
    page.click("#seal")
    said(page, "已封管")

    # The page itself reloads with no network (service worker) and keeps its queue.
    page.reload()
    page.wait_for_selector("#sampler[data-ready=true]")
    assert "离线" in page.locator("#net-state").inner_text()
    expect(page.locator("#pending-count")).to_have_text("2")  # 2 people (and the seal)
    expect(page.locator("#pending-tubes")).to_contain_text("1")

    # Tube 2, still offline: a typed ID, an unknown ID, a repeat, an outsider; seal early.
    scan(page, "T0000001")  # the sealed tube again: refused on the device
    said(page, "已在本机使用过", "already used")
    scan(page, "T0000002")
    scan(page, typed.id_number())
    scan(page, unknown_id[:-1] + ("0" if unknown_id[-1] != "0" else "1"))  # a typo
    said(page, "校验位", "check character")
    scan(page, unknown_id)
    scan(page, code_for(people_a[0]))  # sampled in tube 1 already
    said(page, "本机采过")
    scan(page, code_for(outsider))
    scan(page, forged(code_for(people_a[1])))
    said(page, "签名无效", "not valid")
    expect(page.locator("#tube-count")).to_have_text("4 / 5")
    page.click("#seal")
    expect(page.locator("#pending-count")).to_have_text(str(2 + 4))  # the people waiting
    # The counter and the entries agree: as many entries wait as the counter says.
    expect(page.locator("#feed li[data-state=pending]")).to_have_count(6)
    assert page.locator("#sampler").get_attribute("data-online") == "false"

    # Back online, the first answer is lost on the way (the server stored the batch):
    # the page must send it again, and the server must not store anything twice.
    lost = {"n": 0}

    def lose_first_answer(route):
        if lost["n"] == 0:
            lost["n"] += 1
            route.fetch()  # reaches the server
            route.abort("connectionreset")  # the phone never hears back
        else:
            route.continue_()

    context.route("**/api/v1/testing/uploads", lose_first_answer)
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_pending(page, 0, timeout=60_000)
    assert lost["n"] == 1
    # After the upload the counter and the entries agree: nothing waits in either.
    expect(page.locator("#pending-count")).to_have_text("0")
    expect(page.locator("#feed li[data-state=pending]")).to_have_count(0)

    # Flags are shown, in both languages.
    feed = page.locator("#feed").inner_text()
    assert "本轮已采过" in feed and "already sampled this round" in feed
    assert "不在本轮区域" in feed and "证件号未登记" in feed

    # A tube used at another channel is refused by the server, clearly.
    scan(page, "TAKEN0001")
    page.locator("#tube-problem").wait_for()
    problem = page.locator("#tube-problem").inner_text()
    assert "已在其他通道使用" in problem and "already used at another channel" in problem
    page.click("#seal")  # empty and refused: set aside, nothing to send
    said(page, "弃用")
    wait_pending(page, 0)

    # The database holds every sample exactly once, and nothing else.
    records = page.evaluate(ALL_EVENTS_JS)
    samples = [r for r in records if r["event"]["type"] == "sample"]
    assert len(samples) == 9
    assert {r["state"] for r in records} <= {"accepted", "rejected"}
    stored = list(Sample.objects.values_list("client_id", flat=True))
    assert len(stored) == len(set(stored)) == 9
    assert set(stored) == {r["client_id"] for r in samples}
    t1 = Tube.objects.get(barcode="T0000001")
    t2 = Tube.objects.get(barcode="T0000002")
    assert (t1.sample_count, t1.pool_size, t1.is_sealed) == (5, 5, True)
    assert (t2.sample_count, t2.is_sealed) == (4, True)
    assert Sample.objects.filter(resident=people_a[0]).count() == 2
    assert Sample.objects.filter(resident__isnull=True).count() == 1  # the unknown ID
    assert UploadEvent.objects.filter(type="tube_open", code="tube_taken").count() == 1
    # Answered events keep no full ID number on the phone.
    assert typed.id_number() not in json.dumps(records, ensure_ascii=False)

    # Replaying everything the phone ever sent changes nothing: from the same device it
    # gets the same answers; from another, a refusal that tells it nobody's name.
    replay_js = """async ([device, events]) => {
          const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
          if (device === null) {
            device = await new Promise((resolve) => {
              const req = indexedDB.open("fangkong-sampler", 1);
              req.onsuccess = () => {
                const get = req.result.transaction(["kv"]).objectStore("kv").get("device_id");
                get.onsuccess = () => resolve(get.result.v);
              };
            });
          }
          const resp = await fetch("/api/v1/testing/uploads", {method: "POST",
            headers: {"Content-Type": "application/json", "X-CSRFToken": token},
            body: JSON.stringify({device_id: device, events})});
          return [resp.status, await resp.json()];
        }"""
    sent = [{k: v for k, v in r["event"].items() if k != "id_masked"} for r in records]
    replay = page.evaluate(replay_js, [None, sent])
    assert replay[0] == 200
    assert [x["status"] for x in replay[1]["results"]] == [r["state"] for r in records]
    elsewhere = page.evaluate(replay_js, ["another-phone", sent])
    assert {x["code"] for x in elsewhere[1]["results"]} == {"client_id_taken"}
    assert not any(x.get("resident") for x in elsewhere[1]["results"])
    assert Sample.objects.count() == 9
    assert Tube.objects.filter(barcode__in=["T0000001", "T0000002"]).count() == 2


def open_sampler(page, username="sampler_a"):
    login(page, username)
    page.goto("/testing/sampler/")
    page.wait_for_selector("#sampler[data-ready=true]")


def start_first_channel(page, site):
    """Open the page and start sampling at the site's first channel."""
    open_sampler(page)
    channel = site.channels.order_by("name")[0]
    page.select_option("#setup-channel", str(channel.pk))
    page.click("#setup-done")


def test_the_page_checks_codes_and_id_numbers_as_the_server_does(phone_page, sampler, rnd, tree):
    """The page's offline checks (WebCrypto Ed25519, GB 11643) agree with Python's."""
    page = phone_page
    open_sampler(page)
    person = make_resident(tree.household_a1, "欧阳娜娜")
    good = code_for(person)
    claims = CodeClaims(person.pk, person.name, person.id_masked, dt.date(2026, 11, 23))
    other_key = sign_claims(claims, private_key=Ed25519PrivateKey.generate())
    payload = good.split(".")[1]
    altered = good.replace(
        payload, sign_claims(dataclasses.replace(claims, name="欧阳娜")).split(".")[1]
    )
    codes = {
        "good": good,
        "forged": forged(good),
        "other_key": other_key,
        "altered": altered,
        "truncated": good[:-5],
        "v2": "FK2" + good[3:],
    }
    read = page.evaluate(
        """async (codes) => {
          const out = {};
          for (const [k, v] of Object.entries(codes)) out[k] = await window.fangkongSampler.readCode(v);
          return out;
        }""",
        codes,
    )
    assert read["good"]["person"] == {
        "key": f"r:{person.pk}",
        "name": "欧阳娜娜",
        "masked": person.id_masked,
        "verified": True,  # checked offline with the served public key
    }
    for name in ("forged", "other_key", "altered"):
        assert "签名无效" in read[name]["error"]["zh"], name
    assert "不完整" in read["truncated"]["error"]["zh"]
    assert "FK2" in read["v2"]["error"]["zh"]

    rng = random.Random(11643)
    numbers = []
    for _ in range(200):
        birth = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(30000))
        number = make_mainland("431102", birth, rng.randrange(1000))
        if rng.random() < 0.6:  # change the sequence or the check character
            i = rng.randrange(14, 18)
            number = (
                number[:i]
                + rng.choice("0123456789X" if i == 17 else "0123456789")
                + number[i + 1 :]
            )
        numbers.append(number)
    js = page.evaluate(
        "(ns) => ns.map((n) => window.fangkongSampler.idNumberProblem(n) === null)", numbers
    )

    def valid(n):
        try:
            parse_mainland(n)
            return True
        except IdNumberError:
            return False

    assert js == [valid(n) for n in numbers]
    assert 0 < sum(js) < len(js)
    kinds = page.evaluate(
        "(xs) => xs.map(window.fangkongSampler.classify)",
        [good, numbers[0], "T202611230001", "431102801201123", "hello world"],
    )
    assert kinds == ["code", "id", "tube", "id15", "unknown"]


def test_the_page_backs_off_while_the_server_sheds_load(phone_page, sampler, rnd, site_a, people_a):
    page = phone_page
    calls = {"busy": 0, "through": 0}

    def busy_twice(route):
        if calls["busy"] < 2:
            calls["busy"] += 1
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/json"},
                body=json.dumps({"error": {"code": "busy", "message": "busy", "message_zh": "忙"}}),
            )
        else:
            calls["through"] += 1
            route.continue_()

    page.context.route("**/api/v1/testing/uploads", busy_twice)
    start_first_channel(page, site_a)
    scan(page, "TB000001")
    scan(page, code_for(people_a[0]))
    expect(page.locator("#sync-state")).to_contain_text("重试")
    wait_pending(page, 0)
    assert calls["busy"] == 2 and calls["through"] >= 1
    assert Sample.objects.filter(resident=people_a[0]).count() == 1


def test_scans_wait_for_their_tube_s_seal_and_the_server_s_pace(
    phone_page, settings, sampler, rnd, site_a, people_a
):
    """One upload a tube, not one a scan; and fewer, larger ones when the server asks."""
    settings.SAMPLER_HOLD_SECONDS = 60
    page = phone_page
    uploads = []

    def paced(route):
        uploads.append(len(json.loads(route.request.post_data)["events"]))
        response = route.fetch()
        headers = {**response.headers, "upload-pace": "30"} if len(uploads) == 1 else None
        route.fulfill(response=response, headers=headers)

    page.context.route("**/api/v1/testing/uploads", paced)
    start_first_channel(page, site_a)
    scan(page, "TH000001")
    for r in people_a[:2]:
        scan(page, code_for(r))
        page.get_by_text(f"{r.name} {r.id_masked} ✓").first.wait_for()
    # Held on the phone, and the page says so; the 2-second tick passes and sends nothing.
    expect(page.locator("#sync-state")).to_contain_text("封管")
    page.wait_for_timeout(4500)
    expect(page.locator("#pending-count")).to_have_text("2")
    assert uploads == []
    # Sealing sends the tube: one upload of open, two samples and the seal.
    page.click("#seal")
    wait_pending(page, 0)
    assert uploads == [4]
    # The server answered with a pace: the next tube waits even when sealed ...
    scan(page, "TH000002")
    scan(page, code_for(people_a[2]))
    page.get_by_text(f"{people_a[2].name} {people_a[2].id_masked} ✓").first.wait_for()
    page.click("#seal")
    expect(page.locator("#sync-state")).to_contain_text("服务器繁忙")
    page.wait_for_timeout(4500)
    expect(page.locator("#pending-count")).to_have_text("1")  # one person (and the tube)
    assert uploads == [4]
    # ... until the sampler asks for it.
    page.click("#upload-now")
    wait_pending(page, 0)
    assert uploads == [4, 3]
    assert Sample.objects.filter(resident__in=people_a[:3]).count() == 3
