"""Checks a running accord against the OpenAPI document it serves, for tests/openapi.rs.

Usage: check_openapi.py BASE_URL PARTNERSHIP...

Reads BASE_URL/v1/openapi.json, checks that it is a valid OpenAPI 3.1 document
(openapi-spec-validator), then asks every GET operation that answers JSON (for each PARTNERSHIP
where the path names one) and a few requests that must fail, and validates each answer's body
against the schema the document gives for its status and media type (jsonschema, draft
2020-12). Prints one JSON object: the document's version and paths, and every answer checked
with its status, media type and the schema errors found (none when it conforms).
"""

import json
import sys
import urllib.error
import urllib.request

import jsonschema
from openapi_spec_validator import validate


def fetch(request):
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read()


def main(base, partnerships):
    doc = json.load(urllib.request.urlopen(base + "/v1/openapi.json"))
    validate(doc)
    checked = []

    def check(method, template, url, body=None, headers=None):
        request = urllib.request.Request(
            base + url, data=body, headers=headers or {}, method=method.upper()
        )
        status, media, raw = fetch(request)
        responses = doc["paths"][template][method]["responses"]
        declared = responses.get(str(status))
        errors = []
        if declared is None:
            errors.append(f"status {status} is not declared")
        elif media not in declared.get("content", {}):
            errors.append(f"{media} is not declared for {status}")
        else:
            schema = dict(declared["content"][media]["schema"], components=doc["components"])
            value = json.loads(raw)
            errors = [
                f"{list(e.absolute_path)[:6]}: {e.message[:200]}"
                for e in jsonschema.Draft202012Validator(schema).iter_errors(value)
            ]
        checked.append(
            {"method": method, "url": url, "status": status, "media": media, "errors": errors}
        )

    for template, item in doc["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        media = {m for r in operation["responses"].values() for m in r.get("content", {})}
        if "application/json" not in media:
            continue
        if "{id}" in template:
            for p in partnerships:
                check("get", template, template.replace("{id}", p))
        else:
            check("get", template, template)

    events = "/v1/partnerships/{id}/events"
    p = partnerships[0]
    json_body = {"Content-Type": "application/json"}
    meeting = {
        "type": "follow_up_proposed",
        "occurred_at": "2026-01-10T09:00:00Z",
        "actor": {"org": "nobody"},
        "data": {"by_org": "nobody"},
    }
    check("post", events, events.replace("{id}", p), json.dumps(meeting).encode(), json_body)
    check("post", events, events.replace("{id}", p), b"{not json", json_body)
    check("post", events, events.replace("{id}", "nobody-here"), json.dumps(meeting).encode(), json_body)
    stale = dict(json_body, **{"If-Match": "1"})
    check("post", events, events.replace("{id}", p), json.dumps(meeting).encode(), stale)
    check("get", events, events.replace("{id}", p) + "?limit=0")
    check("get", "/v1/partnerships/{id}/summary", f"/v1/partnerships/{p}/summary?as_of=soon")
    json.dump({"openapi": doc["openapi"], "paths": sorted(doc["paths"]), "checked": checked}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
