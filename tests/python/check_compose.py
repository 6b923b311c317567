"""Validates a Compose file against the Compose specification's JSON schema.

Usage: check_compose.py COMPOSE_FILE SCHEMA_FILE. Prints each violation and exits 1 when there is
one; when the file is valid, prints it as JSON (so that a test can look at what it says) and
exits 0. YAML anchors and merge keys (`<<`) are resolved first, as Compose resolves them.
"""

import json
import sys

import jsonschema
import yaml


def main() -> int:
    compose_file, schema_file = sys.argv[1], sys.argv[2]
    with open(compose_file, encoding="utf-8") as f:
        document = yaml.safe_load(f)
    with open(schema_file, encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    for error in errors:
        path = "/".join(str(p) for p in error.absolute_path) or "(top)"
        print(f"{compose_file}: {path}: {error.message}")
    if errors:
        return 1
    print(json.dumps(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
