"""The input policy of an endpoint: what happens to a record holding what the model never saw.

`serving.input_policy` (a setting, overridden per endpoint by `mloop deploy --input-policy`):
- `warn` (default): the record is scored; the findings are reported with the answer - in the
  `X-Mloop-Input-Issues` header (feature:issue=count, every protocol), in the JSON body where the
  protocol allows it (`input_issues` for SageMaker JSON and KServe V1, `parameters` for V2), and
  per feature in `/metrics` (`mloop_input_issues_total`);
- `reject`: the request is answered 400, naming the feature, the value and what the model knows.

Empty or absent values of inputs that training saw missing are not findings under either policy:
the model was trained on them. NaN, infinities and overflowing numbers are 400 under both.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mloop.errors import InvalidInput
from mloop.serving.server.input_check import Finding, raw_values

if TYPE_CHECKING:
    from mloop.model_format import InputProfile

POLICIES = ("warn", "reject")
HEADER = b"x-mloop-input-issues"
MAX_EXAMPLES = 20  # findings listed in a body; the counts cover them all


class InputRejected(InvalidInput):
    """A record holds values the model never saw and the endpoint's input policy is `reject`."""

    code = "input_rejected"

    def __init__(self, message: str, *, hint: str | None = None, findings: list[Finding] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.findings = list(findings or [])

    def to_dict(self) -> dict[str, Any]:
        """The 400 body: code, message, hint, and the findings as the warn policy reports them."""
        return {**super().to_dict(), "input_issues": report(self.findings)}


def check_policy(value: str, where: str) -> str:
    """`value` if it is a policy, else InvalidInput naming `where` and the choices."""
    if value not in POLICIES:
        raise InvalidInput(f"{where}: unknown input policy {value!r}", hint="one of: " + ", ".join(POLICIES))
    return value


def counts(findings: list[Finding]) -> Counter[tuple[str, str]]:
    """How many findings per (feature, issue)."""
    return Counter((f.feature, f.issue) for f in findings)


def header(findings: list[Finding]) -> tuple[bytes, bytes]:
    """The response header: `feature:issue=count` pairs (feature names percent-encoded)."""
    value = ", ".join(f"{quote(feature, safe='_-.')}:{issue}={n}"
                      for (feature, issue), n in counts(findings).items())
    return HEADER, value.encode("ascii")


def report(findings: list[Finding]) -> dict[str, Any]:
    """The JSON report: total, counts per feature and issue, `feature:issue` per record that has
    any (keyed by its index in the request, so a client can log them with each record), and the
    first findings in full (value and what the model knows)."""
    by_feature: dict[str, dict[str, int]] = {}
    for (feature, issue), n in counts(findings).items():
        by_feature.setdefault(feature, {})[issue] = n
    rows: dict[str, list[str]] = {}
    for f in sorted(findings, key=lambda f: f.row):
        rows.setdefault(str(f.row), []).append(f"{f.feature}:{f.issue}")
    return {"count": len(findings), "by_feature": by_feature, "rows": rows,
            "examples": [{"row": f.row, "feature": f.feature, "issue": f.issue, "value": _plain(f.value),
                          "expected": f.expected} for f in findings[:MAX_EXAMPLES]]}


def rejection(profile: InputProfile, findings: list[Finding]) -> InputRejected:
    """The 400 for a request under `reject`: the first findings in words, what the model takes."""
    wrong = {f.feature for f in findings if f.issue == "wrong_kind"}
    categorical = [s.name for s in profile.inputs if s.kind == "categorical"]
    encoded = len(wrong & set(categorical))
    if categorical and encoded * 2 >= len(categorical):
        return InputRejected(
            f"the record looks encoded ({encoded} inputs hold numbers or booleans where the model "
            f"expects categories); this model takes raw values: {raw_values(profile)}",
            hint="Send the categories as text (e.g. 'Mobile', not 1): the model encodes them itself.",
            findings=findings)
    shown = "; ".join(describe(f) for f in findings[:3])
    more = f" (and {len(findings) - 3} more)" if len(findings) > 3 else ""
    return InputRejected(f"the model never saw these inputs: {shown}{more}",
                         hint="This endpoint's input policy is 'reject'; send values like the training data's, "
                              "or deploy with `--input-policy warn` to score and report them.",
                         findings=findings)


def describe(f: Finding) -> str:
    """One finding in words: row, feature, value, and what the model knows."""
    if f.issue == "few_features":
        return f"row {f.row} carries {f.value} inputs (expected {f.expected})"
    if f.issue == "missing":
        return f"row {f.row}: '{f.feature}' is empty, and training never had it empty"
    what = {"unknown_category": "an unknown category", "out_of_range": "outside the training range",
            "wrong_kind": "the wrong kind of value"}[f.issue]
    return f"row {f.row}: '{f.feature}' = {_short(f.value)} is {what} (expected {f.expected})"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value if not isinstance(value, int) or abs(value) < 2**63 else _short(value)
    return _short(value) if not isinstance(value, str) or len(value) > 80 else value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
