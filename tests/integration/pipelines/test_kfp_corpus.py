"""Every KFP sample of the corpus ends as expected under mloop, or is refused in one line."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.pipelines import kfp_corpus

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not kfp_corpus.CORPUS.is_dir(), reason="no KFP sample corpus here")]


def test_every_sample_runs_to_its_expected_end_or_is_refused_in_one_line(workspace: Any) -> None:
    # One workspace, four samples at a time: the slowest sample prints for 60 s by design.
    results = kfp_corpus.run_corpus(workspace)
    assert len(results) == len(kfp_corpus.samples()) >= 100
    problems = [f"{r.sample}: {why}" for r in results if (why := kfp_corpus.mismatch(r))]
    assert not problems, "\n".join(problems)
    ran = [r for r in results if r.status != kfp_corpus.REFUSED]
    assert len(ran) >= 50, [r.sample for r in ran]
