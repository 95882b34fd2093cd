"""Mutation study (issue 16): ``progress=False`` (``--no-progress``) hides the sweep's progress bar.

Mutant killed: verify/sweep.py ``disable=not progress`` -> ``disable=progress``.
"""

from verify import sweep


def _record(rid):
    return {"id": rid, "learning": {}, "endpoint": {"kind": "data-consistent"}, "eps": 0.01}


def _run(tmp_path, monkeypatch, capsys, progress):
    monkeypatch.setattr(sweep, "run_case", lambda sc, dps: _record(sc.id))
    cases = [sweep.SweepCase(f"c{k}", {}, {}, 0.01, k) for k in range(3)]
    records = sweep.run_sweep(cases, tmp_path / f"s{progress}.jsonl", workers=1, progress=progress)
    assert sorted(records) == ["c0", "c1", "c2"]
    return capsys.readouterr().err


def test_no_progress_prints_no_bar(tmp_path, monkeypatch, capsys):
    assert "sweep" not in _run(tmp_path, monkeypatch, capsys, False)


def test_progress_prints_the_bar(tmp_path, monkeypatch, capsys):
    assert "sweep" in _run(tmp_path, monkeypatch, capsys, True)
