"""``forgekeep policy validate|test|diff``: no workspace needed, documented exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fk_cli_harness import InProcess

from forgekeep.cli.policy import MAX_POLICY_FILE_BYTES
from forgekeep.policy import PolicyEngine, baseline_text

#: Policies in the shipped baseline.
BASELINE = len(PolicyEngine(baseline_text()).policy_ids())
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "policy-cases.json"
PROBLEM = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<id>\S+): (?P<msg>.+)$")

GOOD = """\
// Partners in org-x may never manufacture.
@id("site/no-manufacture-for-x")
@reason("manufacture-barred")
forbid (principal, action == Forgekeep::Action::"manufacture", resource)
when { principal has org && principal.org == Forgekeep::Organisation::"org-x" };
"""
# Forbids every read by org-b: flips the acceptance table's TAA-7 allow into a deny.
BAR_ORG_B = """\
@id("site/no-reads-for-b")
@reason("org-b-barred")
forbid (principal, action == Forgekeep::Action::"read", resource)
when { principal has org && principal.org == Forgekeep::Organisation::"org-b" };
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _problems(out: str) -> list[dict[str, str]]:
    found = []
    for line in out.splitlines():
        match = PROBLEM.match(line)
        assert match is not None, f"not FILE:LINE:COL: id: message: {line!r}"
        found.append(match.groupdict())
    return found


# -- validate ----------------------------------------------------------------


def test_validate_a_clean_file_prints_ok(fk: InProcess, tmp_path: Path) -> None:
    path = _write(tmp_path, "good.cedar", GOOD)
    result = fk("policy", "validate", str(path)).ok()
    assert result.out.strip() == "ok: 1 policies in 1 file"


def test_validate_with_baseline_counts_both(fk: InProcess, tmp_path: Path) -> None:
    path = _write(tmp_path, "good.cedar", GOOD)
    result = fk("policy", "validate", "--with-baseline", str(path)).ok()
    assert result.out.startswith(f"ok: {BASELINE + 1} policies in 1 file (with the baseline)")


def test_validate_json_when_clean(fk: InProcess, tmp_path: Path) -> None:
    path = _write(tmp_path, "good.cedar", GOOD)
    data = fk("--json", "policy", "validate", str(path)).json()
    assert data == {
        "ok": True,
        "files": [str(path)],
        "with_baseline": False,
        "policies": 1,
        "problems": [],
    }


def test_validate_reports_a_schema_error_with_its_location(fk: InProcess, tmp_path: Path) -> None:
    text = GOOD + '\n@id("site/bad-attr")\n@reason("x")\n'
    text += "forbid (principal, action, resource is Forgekeep::Asset)\n"
    text += "when { resource.colour == 1 };\n"
    path = _write(tmp_path, "bad.cedar", text)
    result = fk("policy", "validate", str(path))
    assert result.error("FK-CONFIG-001", 1) == "1 problem in 1 file"
    (problem,) = _problems(result.out)
    assert problem["file"] == str(path)
    assert (problem["line"], problem["col"], problem["id"]) == ("7", "1", "site/bad-attr")
    assert "colour" in problem["msg"]


def test_validate_reports_a_parse_error_with_its_location(fk: InProcess, tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.cedar", GOOD + "\npermit (principal, action, resource) oops;\n")
    result = fk("policy", "validate", str(path))
    result.error("FK-CONFIG-001", 1)
    (problem,) = _problems(result.out)
    assert (problem["line"], problem["id"]) == ("7", "(parse)")


def test_validate_needs_ids_unique_ids_and_reasons(fk: InProcess, tmp_path: Path) -> None:
    first = _write(tmp_path, "a.cedar", GOOD + "permit (principal, action, resource);\n")
    second = _write(tmp_path, "b.cedar", GOOD.replace('@reason("manufacture-barred")\n', ""))
    result = fk("policy", "validate", str(first), str(second))
    assert result.error("FK-CONFIG-001", 1) == "3 problems in 2 files"
    problems = [(p["file"], p["line"], p["id"]) for p in _problems(result.out)]
    assert problems == [
        (str(first), "6", "(no-id)"),
        (str(second), "2", "site/no-manufacture-for-x"),
        (str(second), "2", "site/no-manufacture-for-x"),
    ]


def test_validate_id_and_reason_problems(fk: InProcess, tmp_path: Path) -> None:
    first = _write(tmp_path, "a.cedar", GOOD + "permit (principal, action, resource);\n")
    second = _write(tmp_path, "b.cedar", GOOD.replace('@reason("manufacture-barred")\n', ""))
    result = fk("--json", "policy", "validate", str(first), str(second))
    result.error("FK-CONFIG-001", 1)
    data = result.parsed()
    assert data["ok"] is False
    messages = {(Path(p["file"]).name, p["line"], p["message"]) for p in data["problems"]}
    assert messages == {
        ("a.cedar", 6, "missing @id annotation"),
        ("b.cedar", 2, f"duplicate @id (also in {first})"),
        ("b.cedar", 2, "a forbid needs a @reason code for explanations"),
    }


def test_validate_with_baseline_refuses_colliding_ids(fk: InProcess, tmp_path: Path) -> None:
    copy = _write(tmp_path, "copy.cedar", baseline_text())
    fk("policy", "validate", str(copy)).ok()
    result = fk("policy", "validate", "--with-baseline", str(copy))
    assert result.error("FK-CONFIG-001", 1) == f"{BASELINE} problems in 1 file"
    problems = _problems(result.out)
    assert all(p["msg"] == "duplicate @id (also in (baseline))" for p in problems)


def test_validate_missing_file_is_a_usage_error(fk: InProcess, tmp_path: Path) -> None:
    result = fk("policy", "validate", str(tmp_path / "nope.cedar"))
    assert "does not exist" in result.error("FK-USAGE-003", 2)
    result = fk("policy", "validate", str(tmp_path))
    assert "directory" in result.error("FK-USAGE-003", 2)


def test_validate_refuses_a_file_over_1_mib(fk: InProcess, tmp_path: Path) -> None:
    path = _write(tmp_path, "big.cedar", GOOD + "//" + "x" * MAX_POLICY_FILE_BYTES)
    result = fk("policy", "validate", str(path))
    assert "larger than" in result.error("FK-LIMIT-001", 1)
    assert result.stdout == b""


def test_validate_refuses_non_utf8(fk: InProcess, tmp_path: Path) -> None:
    path = tmp_path / "latin1.cedar"
    path.write_bytes(b"// caf\xe9\n" + GOOD.encode())
    fk("policy", "validate", str(path)).error("FK-FORMAT-001", 1)


def test_validate_needs_a_file(fk: InProcess) -> None:
    fk("policy", "validate").error("FK-USAGE-001", 2)


# -- test --------------------------------------------------------------------


def test_the_acceptance_example_passes(fk: InProcess) -> None:
    result = fk("policy", "test", str(EXAMPLE)).ok()
    lines = result.out.splitlines()
    assert len(lines) >= 10
    assert all(line.startswith("PASS ") for line in lines), result.out
    assert "0 failed" in result.stderr


def test_the_acceptance_example_as_json(fk: InProcess) -> None:
    data = fk("policy", "test", str(EXAMPLE), "--json").json()
    assert data["failed"] == 0
    assert data["passed"] == len(data["cases"])
    first = data["cases"][0]
    assert set(first) == {"name", "passed", "expected", "actual", "policies", "reasons", "problems"}


def _example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return data


def test_an_extra_policy_file_changes_the_outcome_and_fails_the_case(
    fk: InProcess, tmp_path: Path
) -> None:
    extra = _write(tmp_path, "bar.cedar", BAR_ORG_B)
    result = fk("policy", "test", str(EXAMPLE), "--policies", str(extra))
    assert result.code == 4, result
    failed = [line for line in result.out.splitlines() if line.startswith("FAIL ")]
    assert "FAIL German national in B with L-123 and TAA-7 covering DE" in failed
    assert "expected allow, got deny" in result.out
    data = fk("--json", "policy", "test", str(EXAMPLE), "--policies", str(extra)).parsed()
    assert data["failed"] == len(failed)


def test_extra_policies_pass_when_the_cases_expect_them(fk: InProcess, tmp_path: Path) -> None:
    extra = _write(tmp_path, "bar.cedar", BAR_ORG_B)
    doc = _example()
    doc["cases"] = [c for c in doc["cases"] if c["name"].startswith("German national in B with")]
    doc["cases"][0]["reasons"].append("org-b-barred")
    doc["cases"][1]["expect"] = "deny"
    doc["cases"][1]["reasons"] = ["org-b-barred"]
    del doc["cases"][1]["policies"]
    cases = _write(tmp_path, "cases.json", json.dumps(doc))
    fk("policy", "test", str(cases), "--policies", str(extra)).ok()


def test_invalid_extra_policies_are_reported_before_testing(fk: InProcess, tmp_path: Path) -> None:
    text = GOOD.replace("site/no-manufacture-for-x", "baseline/licence-read")
    clash = _write(tmp_path, "clash.cedar", text)
    result = fk("policy", "test", str(EXAMPLE), "--policies", str(clash))
    result.error("FK-CONFIG-001", 1)
    assert "duplicate @id (also in (baseline))" in result.out
    assert "PASS" not in result.out


def test_a_malformed_case_file_names_the_case(fk: InProcess, tmp_path: Path) -> None:
    doc = _example()
    doc["cases"][2]["expect"] = "permit"
    cases = _write(tmp_path, "cases.json", json.dumps(doc))
    message = fk("policy", "test", str(cases)).error("FK-FORMAT-001", 1)
    assert "cases[2].expect" in message


def test_a_case_file_that_is_not_json(fk: InProcess, tmp_path: Path) -> None:
    cases = _write(tmp_path, "cases.json", "not json")
    fk("policy", "test", str(cases)).error("FK-FORMAT-001", 1)


def test_a_missing_or_oversized_case_file(fk: InProcess, tmp_path: Path) -> None:
    fk("policy", "test", str(tmp_path / "none.json")).error("FK-USAGE-003", 2)
    big = _write(tmp_path, "big.json", " " * (MAX_POLICY_FILE_BYTES + 1))
    fk("policy", "test", str(big)).error("FK-LIMIT-001", 1)


# -- diff --------------------------------------------------------------------


def test_diff_identical_modulo_whitespace_comments_and_order(fk: InProcess, tmp_path: Path) -> None:
    old = _write(tmp_path, "old.cedar", GOOD + BAR_ORG_B)
    reordered = BAR_ORG_B.replace("\n", "\n  ") + "// moved\n" + GOOD
    new = _write(tmp_path, "new.cedar", reordered)
    result = fk("policy", "diff", str(old), str(new)).ok()
    assert result.out == ""
    assert "0 added, 0 removed, 0 changed, 2 unchanged" in result.stderr


def test_diff_lists_added_removed_and_changed(fk: InProcess, tmp_path: Path) -> None:
    old = _write(tmp_path, "old.cedar", baseline_text() + GOOD)
    new_text = baseline_text().replace('"principal-not-active"', '"inactive"') + BAR_ORG_B
    new = _write(tmp_path, "new.cedar", new_text)
    result = fk("policy", "diff", str(old), str(new))
    assert result.code == 4, result
    assert result.out.splitlines() == [
        "+ site/no-reads-for-b",
        "- site/no-manufacture-for-x",
        "~ guard/active-principal",
    ]
    data = fk("policy", "diff", str(old), str(new), "--json").parsed()
    assert data == {
        "added": ["site/no-reads-for-b"],
        "removed": ["site/no-manufacture-for-x"],
        "changed": ["guard/active-principal"],
        "unchanged": BASELINE - 1,
    }


def test_diff_identical_json(fk: InProcess, tmp_path: Path) -> None:
    old = _write(tmp_path, "old.cedar", GOOD)
    data = fk("--json", "policy", "diff", str(old), str(old)).json()
    assert data == {"added": [], "removed": [], "changed": [], "unchanged": 1}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("permit (principal, action, resource) oops;", "does not parse"),
        (GOOD + GOOD, "twice"),
    ],
)
def test_diff_refuses_a_broken_file(fk: InProcess, tmp_path: Path, text: str, words: str) -> None:
    good = _write(tmp_path, "good.cedar", GOOD)
    bad = _write(tmp_path, "bad.cedar", text)
    assert words in fk("policy", "diff", str(good), str(bad)).error("FK-CONFIG-001", 1)


def test_diff_missing_file(fk: InProcess, tmp_path: Path) -> None:
    good = _write(tmp_path, "good.cedar", GOOD)
    fk("policy", "diff", str(good), str(tmp_path / "gone.cedar")).error("FK-USAGE-003", 2)


def test_policy_commands_need_no_workspace(fk: InProcess, tmp_path: Path) -> None:
    path = _write(tmp_path, "good.cedar", GOOD)
    env = {"FORGEKEEP_HOME": str(tmp_path / "no-such-workspace")}
    fk("policy", "validate", str(path), env=env).ok()
    fk("policy", "test", str(EXAMPLE), env=env).ok()
    fk("policy", "diff", str(path), str(path), env=env).ok()


def test_validate_refuses_templates(fk: InProcess, tmp_path: Path) -> None:
    text = '@id("site/t")\npermit (principal == ?principal, action, resource);\n'
    path = _write(tmp_path, "t.cedar", GOOD + text)
    result = fk("policy", "validate", str(path))
    assert result.error("FK-CONFIG-001", 1) == "1 problem in 1 file"
    (problem,) = _problems(result.out)
    assert (problem["line"], problem["id"]) == ("6", "site/t")
    assert "templates" in problem["msg"]
