"""Schemathesis hooks for Vigil's OpenAPI check (tests/it/openapi_check.rs).

OpenAPI 3.0 cannot say three things the document's descriptions say, so Schemathesis
reports them as disagreements; this hook drops exactly those and nothing else:

1. Two ends of one value cannot be compared: `datetime=2024-12-31/2024-01-01` matches the
   documented pattern and `/summaries?from=2024-12-31&to=2024-12-01` has two valid dates,
   yet both end before they start (and a bbox with minLat > maxLat): a 400 that says so.
2. `bbox` is an array whose numbers OpenAPI 3.0 can only bound all alike (it has no
   per-position schema, and heights are metres): a longitude outside -180..180 or a
   latitude outside -90..90 is a 400 that says so.
3. `limit` above the documented maximum is not an error in OGC API – Features (the server
   answers a page of the maximum; ogcapi-features#640); GDAL reads that maximum as its page
   size, so the document keeps it.
"""

import json
import sys

import schemathesis


def _detail(response):
    try:
        body = json.loads(response.content)
        return body.get("parameter"), body.get("detail", "")
    except (ValueError, AttributeError):
        return None, ""


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """True keeps the failure; each one dropped is named on stderr."""
    keep = _keep(failure, case, response)
    if not keep:
        print(f"dropped {failure.code} {case.method} {case.path} {case.query}", file=sys.stderr)
    return keep


def _limit_above_maximum(case):
    try:
        return int(str(case.query.get("limit"))) >= 1
    except (TypeError, ValueError, AttributeError):
        return False


def _keep(failure, case, response):
    if failure.code == "ST202" and response.status_code == 400:
        parameter, detail = _detail(response)
        if "ends before it starts" in detail:
            return False
        if parameter == "bbox" and (
            "a latitude is outside -90..90" in detail
            or "a longitude is outside -180..180" in detail
        ):
            return False
    if failure.code == "ST201" and response.status_code == 200:
        # The only invalid part is `limit`, and it is a whole number >= 1: above the maximum.
        only_limit = "Invalid component: parameter `limit` in query -"
        if only_limit in failure.message and _limit_above_maximum(case):
            return False
    return True
