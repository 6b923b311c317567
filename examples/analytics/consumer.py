"""Follow accord's analytics feed: every partnership's current indicators, then live updates.

Usage (see docs/analytics.md):

    python -m grpc_tools.protoc -I proto --python_out=gen proto/accord/v1/*.proto
    PYTHONPATH=gen python examples/analytics/consumer.py --nats nats://127.0.0.1:4222

Prints one JSON line per update: the subject's model and partnership, the log position and
instant it reflects, and the read model decoded with the classes generated from proto/. After
the current state of every subject it prints {"caught_up": true, "updates": N}, then follows
live updates until interrupted (or until --max updates in all).
"""

import argparse
import asyncio
import json
import sys

import nats
from google.protobuf.json_format import MessageToDict
from nats.js.api import DeliverPolicy

from accord.v1 import analytics_pb2

# The Accord-Schema header names the message type of each update.
SCHEMAS = {
    f"accord.v1.{name}": getattr(analytics_pb2, name)
    for name in ("TrustTimeline", "Throughput", "Asymmetry", "Goals", "Flags", "Summary")
}


def decode(msg):
    headers = msg.headers or {}
    schema = headers.get("Accord-Schema")
    cls = SCHEMAS.get(schema)
    if cls is None:
        raise ValueError(f"{msg.subject}: unknown schema {schema!r}")
    model = cls()
    model.ParseFromString(msg.data)
    return {
        "subject": msg.subject,
        "model": headers["Accord-Model"],
        "partnership_id": headers["Accord-Partnership"],
        "position": int(headers["Accord-Position"]),
        "as_of": headers["Accord-As-Of"],
        "schema": schema,
        "data": MessageToDict(
            model, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        ),
    }


def emit(line):
    print(json.dumps(line, sort_keys=True), flush=True)


async def follow(url, subject, max_updates):
    nc = await nats.connect(url)
    js = nc.jetstream()
    # An ordered consumer starting at the last update of each subject: the current state of
    # every partnership first, then each new update once.
    sub = await js.subscribe(
        subject,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
    )
    # The state is current once a delivered update has nothing pending after it, or at once
    # when no subject matches yet.
    info = await js.stream_info("ACCORD_ANALYTICS", subjects_filter=subject)
    caught_up = not info.state.subjects
    updates = 0
    if caught_up:
        emit({"caught_up": True, "updates": 0})
    try:
        async for msg in sub.messages:
            emit(decode(msg))
            updates += 1
            if not caught_up and msg.metadata.num_pending == 0:
                caught_up = True
                emit({"caught_up": True, "updates": updates})
            if max_updates is not None and updates >= max_updates:
                break
    finally:
        await nc.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL")
    parser.add_argument(
        "--subject",
        default="accord.analytics.>",
        help="which updates: accord.analytics.<model>.<partnership_id>, with wildcards",
    )
    parser.add_argument("--max", type=int, default=None, help="stop after this many updates")
    args = parser.parse_args()
    try:
        asyncio.run(follow(args.nats, args.subject, args.max))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
