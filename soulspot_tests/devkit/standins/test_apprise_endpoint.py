"""The Apprise hook stand-in reads what Apprise's json:// and form:// notifiers really send: the docs'
samples, and Apprise itself posting to it."""

import json
from urllib.parse import urlencode

import apprise
import httpx

from soulspot_pipeline.devkit.standins.apprise_endpoint import AppriseEndpoint, parse_payload

SAMPLE_FIELDS = {
    "version": "1.0",
    "title": "Test Message Title",
    "message": "Test Message Body",
    "type": "info",
    "sound": "oceanwave",
}


def test_the_docs_json_and_form_samples_parse_to_their_fields(realdata):
    folder = realdata / "apprise" / "apprise-source-and-docs"
    json_sample = (folder / "json-payload.docs-sample.json").read_bytes()
    assert parse_payload("application/json", json_sample) == SAMPLE_FIELDS
    # The form sample lists the fields one per line; on the wire they are url-encoded.
    lines = (folder / "form-payload.docs-sample.txt").read_text().splitlines()
    wire = urlencode([tuple(line.split("=", 1)) for line in lines if line.strip()]).encode()
    assert parse_payload("application/x-www-form-urlencoded", wire) == SAMPLE_FIELDS
    with AppriseEndpoint() as hook:
        httpx.post(f"{hook.url}/hook", content=json_sample, headers={"Content-Type": "application/json"})
        httpx.post(f"{hook.url}/form", content=wire, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert [p.fields for p in hook.delivered] == [SAMPLE_FIELDS, SAMPLE_FIELDS]


def test_apprise_posts_json_and_form_as_the_notes_describe_and_gets_the_programmed_answers():
    with AppriseEndpoint([500]) as hook:
        host = hook.url.removeprefix("http://")
        sender = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False, storage_mode="memory"))
        sender.add(f"json://{host}/hook")
        sender.add(f"form://{host}/form")
        first = sender.notify(title="2 downloads failed", body="- Air – Talisman\nand 1 more", notify_type="warning")
        second = sender.notify(title="again", body="b")
    assert not first and second  # the 500 failed the first post; everything after is answered 200
    by_path = {(p.path, p.title): p for p in hook.posted}
    posted = by_path[("/hook", "2 downloads failed")]
    # NotifyJSON.send: these keys in this order, Python's default separators, ASCII-escaped.
    assert list(json.loads(posted.raw)) == ["version", "title", "message", "attachments", "type"]
    assert b'"message": "- Air \\u2013 Talisman\\nand 1 more"' in posted.raw
    assert posted.headers["user-agent"] == "Apprise" and posted.type == "warning"
    form = by_path[("/form", "2 downloads failed")]
    assert form.headers["content-type"] == "application/x-www-form-urlencoded" and "attachments" not in form.fields
    assert form.message == "- Air – Talisman\nand 1 more"
    assert sorted(p.status for p in hook.posted) == [200, 200, 200, 500]
