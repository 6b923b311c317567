"""Records a commit signed by its org, outside Rust: what `accord record --key` does.

An org that signs its acts in a partnership seals each personal value of its events (the value
becomes the digest of a disclosure `[salt, path, value]`, docs/domain.md "Personal data"), signs
the RFC 8785 (JCS) form of

    {"type": "accord.commit.v1", "partnership_id": ..., "idempotency_key": ..., "events": [...]}

with its ed25519 key, and sends `{"events", "disclosures", "signature"}` with the
`Idempotency-Key` header. The events are written as the ledger writes them: optional fields
absent rather than null, times in UTC with `Z` (docs/domain.md, "Signed acts").

    python sign_commit.py --server URL --partnership ID --key org.pem --events events.json
    python sign_commit.py ... --new-key org.pem --org acme   # make a key and register it

With --new-key the script makes a key, writes it (PKCS#8 PEM), and records the org's
`org_key_registered` event signed with that key; the events of --events, when given, follow in
a second signed commit. It prints each answer and exits 1 when the ledger refuses.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
import uuid

import jcs
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# The personal fields of each event type's `data` (docs/domain.md, "Personal data"); the
# envelope's `actor.person` and `note` are personal in every type.
PERSONAL = {
    "partnership_proposed": ["vision"],
    "partnership_status_changed": ["reason"],
    "exit_procedure_defined": ["data_return_terms"],
    "role_assigned": ["person"],
    "role_unassigned": ["person", "reason"],
    "meeting_requested": ["purpose"],
    "meeting_cancelled": ["reason"],
    "introduction_made": ["introduced_party"],
    "goal_dropped": ["reason"],
    "deliverable_committed": ["title", "owner_person"],
    "deliverable_due_date_changed": ["reason"],
    "deliverable_cancelled": ["reason"],
    "deal_registered": ["account"],
    "joint_customer_highlighted": ["customer"],
    "event_retracted": ["reason"],
}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seal_event(event, disclosures):
    """The event with each personal value replaced by its disclosure's digest."""

    def seal(path, value):
        salt = b64url(os.urandom(16))
        text = json.dumps([salt, path, value], separators=(",", ":"), ensure_ascii=False)
        disclosures.append(text)
        return b64url(hashlib.sha256(text.encode()).digest())

    if event["type"] == "event_corrected":
        raise SystemExit("this example does not seal a correction's replacement")
    event = json.loads(json.dumps(event))
    if "person" in event["actor"]:
        event["actor"]["person"] = seal("actor.person", event["actor"]["person"])
    if "note" in event:
        event["note"] = seal("note", event["note"])
    data = event["data"]
    for field in PERSONAL.get(event["type"], []):
        if field in data:
            data[field] = seal(f"data.{field}", data[field])
    if event["type"] == "meeting_held":
        for i, attendee in enumerate(data["attendees"]):
            attendee["person"] = seal(f"data.attendees[{i}].person", attendee["person"])
    return event


def key_id(key):
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(public).hexdigest()[:16], base64.b64encode(public).decode()


def record(server, partnership, org, key, events):
    """Seals, signs and sends one commit; gives the HTTP status and the answer."""
    idempotency_key = f"py-{uuid.uuid4()}"
    disclosures = []
    sealed = [seal_event(e, disclosures) for e in events]
    message = jcs.canonicalize(
        {
            "type": "accord.commit.v1",
            "partnership_id": partnership,
            "idempotency_key": idempotency_key,
            "events": sealed,
        }
    )
    body = {
        "events": sealed,
        "disclosures": disclosures,
        "signature": {
            "org": org,
            "key_id": key_id(key)[0],
            "sig": base64.b64encode(key.sign(message)).decode(),
        },
    }
    request = urllib.request.Request(
        f"{server}/v1/partnerships/{partnership}/events",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "Idempotency-Key": idempotency_key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


def main():
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--server", default="http://127.0.0.1:7480")
    args.add_argument("--partnership", required=True)
    args.add_argument("--org", help="the org that signs (default: the events' actor.org)")
    args.add_argument("--key", help="the org's private key (PKCS#8 PEM)")
    args.add_argument("--new-key", help="make a key here and register it first")
    args.add_argument("--events", help="a JSON file: one event or an array (one commit)")
    a = args.parse_args()

    commits = []
    if a.new_key:
        if not a.org:
            raise SystemExit("--new-key needs --org")
        key = Ed25519PrivateKey.generate()
        with open(os.open(a.new_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        kid, public = key_id(key)
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        commits.append(
            [
                {
                    "type": "org_key_registered",
                    "occurred_at": now,
                    "actor": {"org": a.org},
                    "data": {"org": a.org, "key_id": kid, "public_key": public},
                }
            ]
        )
    elif a.key:
        with open(a.key, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
    else:
        raise SystemExit("give --key or --new-key")
    if a.events:
        with open(a.events) as f:
            events = json.load(f)
        commits.append(events if isinstance(events, list) else [events])

    for events in commits:
        org = a.org or events[0]["actor"]["org"]
        status, answer = record(a.server, a.partnership, org, key, events)
        print(json.dumps({"status": status, "answer": answer}))
        if status != 201:
            sys.exit(1)


if __name__ == "__main__":
    main()
