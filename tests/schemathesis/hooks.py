"""Schemathesis hooks for scripts/test (loaded through SCHEMATHESIS_HOOKS).

A report dated more than five minutes ahead of the server's clock is refused with 422
`analyzed_at_in_future` (a broken analyzer clock would otherwise block every later report), and no
JSON Schema can say "not in the future". Generated reports keep their shape, but an `analyzed_at`
in the future is moved an hour into the past, so that "schema-valid data is accepted" stays a
check with no exception.
"""

from datetime import datetime, timedelta, timezone

import schemathesis


@schemathesis.hook
def map_body(context, body):
    if not isinstance(body, dict) or not isinstance(body.get("analyzed_at"), str):
        return body
    try:
        analyzed_at = datetime.fromisoformat(body["analyzed_at"].replace("z", "Z"))
    except ValueError:
        return body
    if analyzed_at.tzinfo is None:
        return body
    now = datetime.now(timezone.utc)
    if analyzed_at > now:
        body = dict(body, analyzed_at=(now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return body
