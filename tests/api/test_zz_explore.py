from typing import Any
import schemathesis
from hypothesis.errors import Unsatisfiable
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXEMPT = ("INVALID_FILTER_BY_FORMULA", "LIST_RECORDS_ITERATOR_NOT_AVAILABLE")

def positive_data_acceptance_except_formula(ctx, response, case):
    if response.status_code == 422:
        try:
            err = response.json()["error"]
            if err["type"] in EXEMPT or "unknown record" in err["message"] or "merge on" in err["message"]:
                return None
        except Exception:
            pass
    return positive_data_acceptance(ctx, response, case)


def test_explore(api_server: Any, seeded: Any) -> None:
    seeded(api_server.ws, 5)
    token = api_server.token("admin")
    headers = {"Authorization": f"Bearer {token}"}
    with api_server.client("admin") as c:
        doc = c.get("/v0/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    schema.config.update(headers=headers, base_url=api_server.url)
    failures = {}
    for result in schema.get_all_operations():
        op = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def run(case):
                try:
                    case.call_and_validate(excluded_checks=[positive_data_acceptance], additional_checks=[positive_data_acceptance_except_formula])
                except BaseException as exc:
                    failures.setdefault((op.label, mode.value), set()).add(str(exc)[:700])
            try:
                run()
            except Unsatisfiable:
                pass
    import re
    for k, v in failures.items():
        codes = set()
        for m in v:
            for line in m.splitlines():
                if "ST108" in m:
                    codes.add(m[:1500])
                if re.match(r"^- ST\d+", line) or line.startswith("    `{") or line.startswith("[") or "Invalid component" in line or "violates" in line:
                    codes.add(line.strip()[:160])
        print("=====", k, sorted(codes)[:8])
    assert not failures
