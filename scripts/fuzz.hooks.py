# Schemathesis hooks for `npm run fuzz` (scripts/fuzz.ts loads them through SCHEMATHESIS_HOOKS).
#
# The generated document leaves path parameters as free strings, so left alone nearly every request
# names a subscription, group or cluster that does not exist and ends at a 404. These hooks aim part
# of the requests at the fixtures scripts/fuzz.ts created (a resource group, a cluster, its pool,
# children and a snapshot), keep the api-version on the document's own version most of the time,
# and put deleted fixtures back so that later requests still reach them.
#
# The RP's own 400s for schema-valid input need no entry here: positive_data_acceptance is not among
# scripts/fuzz.ts's checks (a generated location such as "0" is LocationNotAvailableForResourceType, a
# tag value over 256 characters InvalidTagValueLength, an autoscaled count outside minCount..maxCount,
# overlapping or reserved network ranges, a blank RunCommand command or a managed namespace name that
# is no RFC 1123 label InvalidParameter, a nodeLabels key in the kubernetes.io or k8s.io namespaces that
# kubelet may not set, such as node-role.kubernetes.io/x, BadRequest). The spec's patterns are read as .NET reads them (`\w` is
# Unicode, nearly as in Python's `re`); a negative name that only .NET's `\w` takes (a combining mark,
# connector punctuation) names a group that does not exist: 404, still a rejection.
import hashlib
import json
import os
import re
import urllib.request

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

with open(os.environ["AKS_FUZZ_FIXTURES"], encoding="utf-8") as handle:
    FIXTURES = json.load(handle)
BASE_URL: str = FIXTURES["baseUrl"]
API_VERSION: str = FIXTURES["apiVersion"]
PINS: dict = FIXTURES["pins"]  # path parameter name -> the fixture's value
RESTORE: list = FIXTURES["restore"]  # [method, path?query, body] that (re)create the fixtures, in order

_PARAM = re.compile(r"\{([^}]+)\}")


def _positive(case, location: ParameterLocation) -> bool:
    """Whether the case's component at `location` was generated to fit the schema; editing a negative
    one would quietly turn it positive, so those are left as generated."""
    meta = case.meta
    component = meta.components.get(location) if meta is not None else None
    return component is None or component.mode == GenerationMode.POSITIVE


def _draw(case, salt: str, choices: int) -> int:
    """A choice fixed by the generated case itself, so the run stays reproducible under --seed."""
    digest = hashlib.sha256(f"{salt}|{case.operation.label}|{case.path_parameters!r}|{case.query!r}".encode("utf-8", "surrogatepass"))
    return digest.digest()[0] % choices


@schemathesis.hook
def map_case(context, case):
    """Per case: the generated path parameters, or every one pinned to its fixture, or the parents
    pinned and the last generated (a new or missing child of a real cluster), one in three each; and
    the document's own api-version three times in four (the document types it as any non-empty
    string, so left alone nearly every request would stop at ARM's api-version check)."""
    was_positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    params = case.path_parameters
    if params and _positive(case, ParameterLocation.PATH):
        order = [name for name in _PARAM.findall(case.operation.path) if name in params]
        pinned = {name: PINS[name] for name in order if name in PINS}
        choice = _draw(case, "path", 3)
        if pinned and choice:
            last = order[-1] if choice == 2 else None
            case.path_parameters = {**params, **{name: value for name, value in pinned.items() if name != last}}
    query = case.query
    if isinstance(query, dict) and "api-version" in query and _positive(case, ParameterLocation.QUERY) and _draw(case, "query", 4):
        case.query = {**query, "api-version": API_VERSION}
    if was_positive:
        _EDITED_POSITIVE.add(_key(case))
    return case


# Schemathesis re-checks a case a hook edited, and re-checks path parameters in their percent-encoded
# wire form: a generated 20-character name becomes 60 and more, over the spec's maxLength, and a
# positive case is relabelled negative. The emulator then rightly answers it (204, 404), and
# negative_data_rejection would report ST201 on a request that fits the document. Such failures, on
# cases that were positive when generated and only had fixture values put in, are dropped here.
_EDITED_POSITIVE: set = set()


def _key(case) -> tuple:
    return (case.operation.label, repr(case.path_parameters), repr(case.query))


@schemathesis.hook
def filter_failure(context, failure, case, response):
    return not (getattr(failure, "code", None) == "ST201" and _key(case) in _EDITED_POSITIVE)


def _send(method: str, path_and_query: str, body) -> None:
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(BASE_URL + path_and_query, data=data, method=method, headers={"content-type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=30).read()
    except Exception:  # a fixture that cannot come back now is put back after the next such call
        pass


@schemathesis.hook
def after_call(context, case, response):
    """A successful call that removed or reshaped a fixture puts the fixtures back (PUT is idempotent):
    a DELETE of one, a PUT of the cluster itself (a generated body may drop the fixture pool), a stop."""
    if response.status_code >= 300:
        return
    params = case.path_parameters or {}
    if not params or any(PINS.get(name) != value for name, value in params.items()):
        return
    method, template = case.method.upper(), case.operation.path
    if method == "POST" and template.endswith("/stop"):
        _send("POST", case.formatted_path.removesuffix("/stop") + "/start?api-version=" + API_VERSION, None)
    elif method == "DELETE" or (method == "PUT" and template.endswith("/managedClusters/{resourceName}")):
        for fixture_method, path_and_query, body in RESTORE:
            _send(fixture_method, path_and_query, body)
