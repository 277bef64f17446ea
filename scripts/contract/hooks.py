"""Schemathesis hooks for scripts/contract-test.sh.

Loaded through SCHEMATHESIS_HOOKS. A belt-and-braces guard: `--url` already
points every generated request at the servers under test, and
`--max-redirects 0` stops redirects from being followed, but a schema's
`servers`, a link or a `Location` header must never make this test send
traffic anywhere else. Every request that schemathesis makes goes through a
requests transport adapter, so refusing there any URL whose host is not in
CONTRACT_ALLOWED_HOSTS (default: 127.0.0.1) catches all of them; a refused
request shows up as a network error, which fails the run.
"""

import os
from urllib.parse import urlsplit

import requests.adapters
import schemathesis

ALLOWED_HOSTS = frozenset(
    host.strip()
    for host in os.environ.get("CONTRACT_ALLOWED_HOSTS", "127.0.0.1").split(",")
    if host.strip()
)

_original_send = requests.adapters.HTTPAdapter.send


def _guarded_send(self, request, *args, **kwargs):
    host = urlsplit(request.url).hostname
    if host not in ALLOWED_HOSTS:
        raise requests.exceptions.InvalidURL(
            f"contract-test guard: refusing a request to {request.url!r}; "
            f"only {sorted(ALLOWED_HOSTS)} may be contacted"
        )
    return _original_send(self, request, *args, **kwargs)


requests.adapters.HTTPAdapter.send = _guarded_send


def _integers_as_integers(value):
    """`2.0` -> `2`, recursively. JSON Schema calls 2.0 an integer, so the
    generator sends it for `type: integer`; our servers, like most typed
    ones, read integers only from integer literals, and the README says so
    ("integers are JSON integers: -2, not -2.0"). Every integer field the
    servers read has bounds in the documents, so nothing else is hidden."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_integers_as_integers(item) for item in value]
    if isinstance(value, dict):
        return {key: _integers_as_integers(item) for key, item in value.items()}
    return value


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if isinstance(case.body, (dict, list, float)):
        case.body = _integers_as_integers(case.body)


# Statuses a schema-valid request may get: the document promises which
# requests are well formed, not that every one succeeds (the SKU may be
# unknown, the version stale, the credentials wrong). These are schemathesis'
# own defaults for its positive_data_acceptance check.
_ACCEPTABLE = {401, 403, 404, 409, 429}

# Business refusals a well-formed request can get as a 422 (documented per
# operation next to `validation_failed`): the stock rules (no stock below
# zero, no hold or sale of units held for reservations) are not shape rules.
_BUSINESS_REFUSALS = {"insufficient_stock", "insufficient_available"}


def _is_cross_field_refusal(body):
    """The rules that tie valid fields together, which a schema cannot say
    (the documents state them in words) and the server answers with
    `validation_failed` naming the field: an update's sign must fit its kind
    (a `sale` removes stock); a count may not be further from the store's
    quantity than one change may move (`counted`, with the `difference`);
    a transfer needs two different stores (`to_store`). Any other
    `validation_failed` still fails the check."""
    if body.get("code") != "validation_failed":
        return False
    details = body.get("details") or {}
    field = details.get("field")
    return (
        (field == "delta" and details.get("kind") in {"sale", "damage", "receipt", "return"})
        or (field == "counted" and "difference" in details)
        or field == "to_store"
    )


@schemathesis.check
def positive_data_accepted(ctx, response, case):
    """schemathesis' positive_data_acceptance (turned off in
    schemathesis.toml), except that a 422 whose `code` is a business
    refusal, or one of the cross-field rules, passes. Any other 4xx to schema-valid data still fails, so a
    document that is looser than its server is still caught."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if status < 400 or status >= 500 or status in _ACCEPTABLE:
        return None
    if status == 422:
        try:
            body = response.json()
        except Exception:  # noqa: BLE001 - a non-JSON 422 is a failure below
            body = {}
        if body.get("code") in _BUSINESS_REFUSALS or _is_cross_field_refusal(body):
            return None
    raise AssertionError(
        f"Valid data should have been accepted: got {status} {response.text[:300]}"
    )
