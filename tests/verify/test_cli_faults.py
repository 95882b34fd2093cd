"""Faults and hostile option values on the command line (issue 17, items 2-5, 8 and the options of 6):
Ctrl-C on `run`, a sweep store cut by a crash, --jobs, output paths, sizes without a bound, and option
values that are not finite, not positive or out of range."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace

import pytest

from verify import runner, sweep
from verify.cli import main

ROOT = Path(__file__).resolve().parents[2]
GIM_N3 = str(ROOT / "examples" / "gim_n3.json")


def run_cli(*args, timeout=30, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def one_line_error(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("ebm-verify: error: ") and "Traceback" not in err


# --- option values (item 6, the command-line part) --------------------------------------------------------

# Each bad value comes with something else that the old code refused quickly (an unknown proposition, a
# missing case file), so that before the fix the test fails on the message instead of running for hours.
BAD_OPTIONS = [
    (["run", "--only", "Z9", "--jobs", "0"], "--jobs"),
    (["run", "--only", "Z9", "--jobs", "-1"], "--jobs"),
    (["run", "--only", "Z9", "--jobs", "two"], "--jobs"),
    (["run", "--only", "Z9", "--dps", "0"], "--dps"),
    (["run", "--only", "Z9", "--dps", "-5"], "--dps"),
    (["run", "--only", "Z9", "--dps", "nan"], "--dps"),
    (["run", "--only", "Z9", "--dps", "1000000"], "--dps"),
    (["run", "--only", "Z9", "--n", "1"], "--n"),
    (["run", "--only", "Z9", "--n", "0,2"], "--n"),
    (["run", "--only", "Z9", "--n", "99"], "--n"),
    (["run", "--only", "Z9", "--n", ","], "--n"),
    (["baseline", "save", "b.json", "--only", "Z9", "--jobs", "0"], "--jobs"),
    (["sweep", "--case", "nope", "--jobs", "0"], "--jobs"),
    (["sweep", "--case", "nope", "--n", "1"], "--n"),
    (["sweep", "--case", "nope", "--threshold", "nan"], "--threshold"),
    (["sweep", "--case", "nope", "--dps", "3"], "--dps"),
    (["list", "--n", "30"], "--n"),
    (["flow", "missing.json", "--t-max", "nan"], "--t-max"),
    (["flow", "missing.json", "--t-max", "inf"], "--t-max"),
    (["flow", "missing.json", "--t-max", "1e400"], "--t-max"),
    (["flow", "missing.json", "--t-max", "1e300"], "--t-max"),
    (["flow", "missing.json", "--eps", "nan"], "--eps"),
    (["flow", "missing.json", "--eps", "-0.1"], "--eps"),
    (["flow", "missing.json", "--threshold", "0"], "--threshold"),
    (["flow", "missing.json", "--threshold", "1"], "--threshold"),
    (["flow", "missing.json", "--threshold", "nan"], "--threshold"),
    (["flow", "missing.json", "--seed", "-1"], "--seed"),
    (["fixed-points", "missing.json", "--t-max", "-1"], "--t-max"),
    (["fixed-points", "missing.json", "--scale", "nan"], "--scale"),
    (["fixed-points", "missing.json", "--scale", "0"], "--scale"),
    (["fixed-points", "missing.json", "--seeds", "-1"], "--seeds"),
    (["fixed-points", "missing.json", "--seeds", "100000000"], "--seeds"),
    (["fixed-points", "missing.json", "--dps", "0"], "--dps"),
    (["classify", "missing.json", "--dps", "nan"], "--dps"),
    (["couplings", "missing.json", "--dps", "-1"], "--dps"),
]


@pytest.mark.parametrize("argv,flag", BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_bad_option_values_are_one_line_errors_with_exit_code_2(argv, flag, capsys):
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert one_line_error(err), err
    assert f"argument {flag}" in err, err


def test_good_option_values_still_parse():
    from verify.cli import _parser

    args = _parser().parse_args(["flow", "x.json", "--t-max", "1e4", "--eps", "0.05", "--threshold", "0.1",
                                 "--seed", "3"])
    assert (args.t_max, args.eps, args.threshold, args.seed) == (1e4, 0.05, 0.1, 3)
    args = _parser().parse_args(["run", "--jobs", "3", "--dps", "30", "--n", "2,3,4"])
    assert (args.jobs, args.dps, args.n) == (3, 30, (2, 3, 4))
    assert _parser().parse_args(["fixed-points", "x.json", "--seeds", "0"]).seeds == 0


# --- --jobs: capped at the work and the CPUs (item 4) -------------------------------------------------------


class FakePool:
    """Stands in for ProcessPoolExecutor: records max_workers and runs each task at once, in this process."""

    created: list = []

    def __init__(self, max_workers=None, mp_context=None, initializer=None):
        FakePool.created.append(max_workers)

    def submit(self, fn, *args):
        fut = Future()
        fut.set_result(fn(*args))
        return fut

    def shutdown(self, wait=True, cancel_futures=False):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()


def fake_jobs(cases: int):
    def check(case, dps):
        return SimpleNamespace(proposition="X1", case=case.name)

    prop = SimpleNamespace(id="X1", check=check, certifiable=False)
    return [(prop, SimpleNamespace(name=f"case-{k}")) for k in range(cases)]


def test_run_workers_are_capped_at_the_case_groups_and_the_cpus(monkeypatch):
    monkeypatch.setattr(runner, "ProcessPoolExecutor", FakePool)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    FakePool.created = []
    verdicts, *_ = runner.run_jobs(fake_jobs(3), 30, workers=10000, progress=False)
    assert len(verdicts) == 3 and FakePool.created == [3]
    FakePool.created = []
    runner.run_jobs(fake_jobs(9), 30, workers=10000, progress=False)
    assert FakePool.created == [4]


def test_sweep_workers_are_capped_at_the_cases_and_the_cpus(monkeypatch, tmp_path):
    monkeypatch.setattr(sweep, "ProcessPoolExecutor", FakePool)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(sweep, "run_case", lambda sc, dps: {"id": sc.id, "learning": {}, "endpoint": {}, "eps": sc.eps})
    cases = [sweep.SweepCase(f"c{k}", {}, {}, 0.01, k) for k in range(3)]
    FakePool.created = []
    records = sweep.run_sweep(cases, tmp_path / "s.jsonl", workers=10000, progress=False)
    assert sorted(records) == ["c0", "c1", "c2"] and FakePool.created == [3]


# --- a sweep store cut by a crash (item 3) ------------------------------------------------------------------


def record(rid: str) -> dict:
    return {"id": rid, "learning": {}, "endpoint": {"kind": "data-consistent"}, "eps": 0.01}


def test_a_cut_last_line_is_set_aside_and_the_next_record_is_whole(tmp_path, capsys):
    store = tmp_path / "s.jsonl"
    whole = json.dumps(record("a"))
    cut = json.dumps(record("b"))[:25]
    store.write_text(whole + "\nnot json at all\n" + json.dumps({"foo": 1}) + "\n[1, 2]\n" + cut)
    done = sweep.read_store(store, repair=True)
    err = capsys.readouterr().err
    assert list(done) == ["a"]
    assert store.read_text() == whole + "\nnot json at all\n" + json.dumps({"foo": 1}) + "\n[1, 2]\n"
    assert (tmp_path / "s.jsonl.partial").read_text() == cut + "\n"
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "cut off" in lines[0] and "s.jsonl.partial" in lines[0]
    assert "3 lines" in lines[1] and "not sweep records" in lines[1]
    sweep._append(store, record("b"))
    again = sweep.read_store(store, repair=True)
    assert sorted(again) == ["a", "b"]
    assert "cut off" not in capsys.readouterr().err


def test_a_whole_last_record_without_its_newline_is_kept(tmp_path, capsys):
    store = tmp_path / "s.jsonl"
    store.write_text(json.dumps(record("a")))
    assert list(sweep.read_store(store, repair=True)) == ["a"]
    assert store.read_text().endswith("\n") and capsys.readouterr().err == ""
    sweep._append(store, record("b"))
    assert sorted(sweep.read_store(store)) == ["a", "b"]


def test_a_resumed_sweep_repairs_its_store(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweep, "run_case", lambda sc, dps: record(sc.id))
    store = tmp_path / "s.jsonl"
    store.write_text(json.dumps(record("c0")) + "\n" + json.dumps(record("c1"))[:30])
    cases = [sweep.SweepCase(f"c{k}", {}, {}, 0.01, k) for k in range(3)]
    records = sweep.run_sweep(cases, store, workers=1, progress=False)
    assert sorted(records) == ["c0", "c1", "c2"]
    assert [json.loads(line)["id"] for line in store.read_text().splitlines()] == ["c0", "c1", "c2"]
    assert "cut off" in capsys.readouterr().err


# --- output paths (item 5) -----------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["json", "md", "tex", "baseline"])
def test_run_output_into_a_missing_folder_is_refused_before_computing(verb, tmp_path):
    target = str(tmp_path / "no-such-folder" / "report.out")
    args = (["baseline", "save", target] if verb == "baseline" else ["run", f"--{verb}", target])
    start = time.perf_counter()
    code, out, err = run_cli(*args, "--only", "E2", "--n", "2", "--families", "gim", "--no-progress")
    assert code == 2 and one_line_error(err), err
    assert "does not exist" in err and out == ""
    assert time.perf_counter() - start < 20


def test_a_folder_as_an_output_file_is_refused(tmp_path):
    code, out, err = run_cli("run", "--only", "E2", "--n", "2", "--families", "gim", "--json", str(tmp_path))
    assert code == 2 and one_line_error(err) and "is a folder" in err and out == ""
    code, _, err = run_cli("sweep", "--quick", "--store", str(tmp_path))
    assert code == 2 and one_line_error(err) and "--store" in err and "is a folder" in err


def test_a_missing_baseline_to_compare_with_is_refused_before_computing(tmp_path):
    code, out, err = run_cli("run", "--only", "E2", "--n", "2", "--families", "gim", "--no-progress",
                             "--baseline", str(tmp_path / "nope.json"))
    assert code == 2 and one_line_error(err) and "cannot read baseline" in err and out == ""


def test_plot_into_a_folder_is_refused_not_written_next_to_it(tmp_path):
    folder = tmp_path / "figs"
    folder.mkdir()
    code, out, err = run_cli("flow", GIM_N3, "--t-max", "100", "--plot", str(folder))
    assert code == 2 and one_line_error(err) and "is a folder" in err and out == ""
    assert not (tmp_path / "figs.png").exists()
    code, _, err = run_cli("scaling", GIM_N3, "--plot", str(tmp_path / "missing" / "s.png"))
    assert code == 2 and one_line_error(err) and "does not exist" in err


def test_derive_out_is_checked_before_deriving(tmp_path):
    spec = tmp_path / "m.json"
    spec.write_text(json.dumps({"family": "gim", "n": 2}))
    code, _, err = run_cli("derive", str(spec), "--out", str(tmp_path / "missing" / "d.tex"), "--no-proofs")
    assert code == 2 and one_line_error(err) and "does not exist" in err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a device that is always full)")
def test_a_full_disk_at_the_end_keeps_the_report_elsewhere(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "verify", "run", "--only", "E2", "--n", "2", "--families", "gim",
                           "--quick", "--no-progress", "--json", "/dev/full"], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 2 and one_line_error(proc.stderr), proc.stderr
    assert "No space left on device" in proc.stderr and "E2" in proc.stdout
    kept = list(tmp_path.glob("ebm-verify-*.json"))
    assert len(kept) == 1 and str(kept[0]) in proc.stderr
    assert json.loads(kept[0].read_text())["verdicts"]


def test_a_store_that_fills_up_mid_sweep_keeps_the_rest_in_a_fallback(tmp_path, monkeypatch, capsys):
    import errno

    monkeypatch.setattr(sweep, "run_case", lambda sc, dps: record(sc.id))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    store = tmp_path / "s.jsonl"
    real_append = sweep._append

    def append(path, rec):
        if Path(path) == store and rec["id"] != "c0":
            raise OSError(errno.ENOSPC, "No space left on device")
        real_append(path, rec)

    monkeypatch.setattr(sweep, "_append", append)
    cases = [sweep.SweepCase(f"c{k}", {}, {}, 0.01, k) for k in range(3)]
    records = sweep.run_sweep(cases, store, workers=1, progress=False)
    assert sorted(records) == ["c0", "c1", "c2"]
    assert [json.loads(line)["id"] for line in store.read_text().splitlines()] == ["c0"]
    (fallback,) = tmp_path.glob("ebm-verify-sweep-*.jsonl")
    assert [json.loads(line)["id"] for line in fallback.read_text().splitlines()] == ["c1", "c2"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(fallback) in err and "No space left" in err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_plot_that_cannot_be_written_is_kept_elsewhere(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    from verify.plots import plot_learning_times

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    plot_learning_times([], "moment", 0.2, "/dev/full")
    err = capsys.readouterr().err
    kept = list(tmp_path.glob("ebm-verify-plot-*.png"))
    assert len(kept) == 1 and kept[0].stat().st_size > 0
    assert err.count("\n") == 1 and str(kept[0]) in err


# --- sizes without a bound (item 8) --------------------------------------------------------------------------


def test_derive_refuses_a_huge_hidden_layer_at_once(tmp_path):
    spec = tmp_path / "big.json"
    spec.write_text(json.dumps({"family": "rbm", "n": 2, "hidden": 100000}))
    start = time.perf_counter()
    code, _, err = run_cli("derive", str(spec), "--out", str(tmp_path / "big.tex"), timeout=25)
    assert code == 2 and one_line_error(err), err
    assert "P = 300002" in err and "--allow-large" in err and "years" in err
    assert time.perf_counter() - start < 20
    # a case file holding the same model is refused the same way, and 10^9 hidden units are never built
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"model": {"family": "mlp", "n": 2, "hidden": 10**9}, "target": {"named": "parity"}}))
    code, _, err = run_cli("derive", str(case), "--out", str(tmp_path / "c.tex"), "--no-proofs", timeout=25)
    assert code == 2 and one_line_error(err) and "--allow-large" in err


def test_run_and_sweep_refuse_nine_spins_with_an_estimate(tmp_path):
    code, out, err = run_cli("run", "--n", "9", timeout=25)
    assert code == 2 and one_line_error(err) and out == ""
    assert "estimated at about" in err and (" h " in err or "days" in err)
    assert "--allow-large" in err
    code, out, err = run_cli("sweep", "--n", "9", "--store", str(tmp_path / "s.jsonl"), timeout=25)
    assert code == 2 and one_line_error(err) and "estimated at about" in err and "--allow-large" in err
    assert not (tmp_path / "s.jsonl").exists()


def test_sweep_checks_the_metric_before_running(tmp_path):
    code, _, err = run_cli("sweep", "--quick", "--metric", "nonsense", "--store", str(tmp_path / "s.jsonl"), timeout=25)
    assert code == 2 and one_line_error(err) and "unknown metric 'nonsense'" in err


def test_the_estimate_of_the_default_run_is_within_the_bound():
    from verify.cli import LARGE_SECONDS
    from verify.registry import propositions

    jobs = [(p, c) for p in propositions() for c in p.cases(ns=(2, 3), families=None, quick=False)]
    estimate = runner.estimate_seconds(jobs, 50)
    assert 60 < estimate < LARGE_SECONDS * 2  # minutes of CPU on two cores, as the README says
    big = [(p, c) for p in propositions() for c in p.cases(ns=(7,), families=None, quick=False)]
    assert runner.estimate_seconds(big, 50) > LARGE_SECONDS * 8


# --- Ctrl-C on run (item 2) -----------------------------------------------------------------------------------


def interrupt_after(monkeypatch, k: int):
    calls = []
    real = runner.run_check

    def check(prop, case, dps, certify=False):
        if len(calls) == k:
            raise KeyboardInterrupt
        calls.append(case.name)
        return real(prop, case, dps, certify)

    monkeypatch.setattr(runner, "run_check", check)


RUN_E2 = ["run", "--only", "E2", "--n", "2", "--families", "gim", "--jobs", "1", "--no-progress"]


def test_ctrl_c_keeps_the_finished_verdicts_in_the_requested_report(tmp_path, monkeypatch, capsys):
    interrupt_after(monkeypatch, 3)
    report, md = tmp_path / "r.json", tmp_path / "r.md"
    assert main(RUN_E2 + ["--json", str(report), "--md", str(md)]) == 130
    err = capsys.readouterr().err
    doc = json.loads(report.read_text())
    assert len(doc["verdicts"]) == 3 and all(v["status"] == "holds" for v in doc["verdicts"])
    info = doc["meta"]["interrupted"]
    assert info["checks_finished"] == 3 and len(info["unfinished"]) == info["checks"] - 3 > 0
    assert md.exists()
    assert err.count("\n") == 1 and "interrupted: 3 of" in err and str(report) in err and "run the same command" in err


def test_ctrl_c_without_a_report_writes_a_partial_one_in_the_working_folder(tmp_path, monkeypatch, capsys):
    interrupt_after(monkeypatch, 2)
    monkeypatch.chdir(tmp_path)
    assert main(RUN_E2) == 130
    doc = json.loads((tmp_path / "ebm-verify-partial.json").read_text())
    assert len(doc["verdicts"]) == 2
    assert "ebm-verify-partial.json" in capsys.readouterr().err


def test_ctrl_c_never_writes_a_partial_baseline_as_the_baseline(tmp_path, monkeypatch, capsys):
    interrupt_after(monkeypatch, 2)
    base = tmp_path / "base.json"
    assert main(["baseline", "save", str(base), "--only", "E2", "--n", "2", "--families", "gim", "--jobs", "1",
                 "--no-progress"]) == 130
    assert not base.exists()
    assert len(json.loads((tmp_path / "base.partial.json").read_text())["verdicts"]) == 2
    out, err = capsys.readouterr()
    assert "baseline written" not in out and "base.partial.json" in err


DRIVER = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    from verify import runner
    from verify.cli import main

    from verify.registry import get

    marker = Path(sys.argv[1])
    real = runner.run_check
    first = get("E2").cases(ns=(2,), families=("gim",), quick=False)[0].name

    def check(prop, case, dps, certify=False):
        # the first case is checked for real; every other one takes two minutes
        if case.name == first:
            result = real(prop, case, dps, certify)
            marker.write_text(case.name)
            return result
        time.sleep(120)
        return real(prop, case, dps, certify)

    runner.run_check = check
    sys.exit(main(sys.argv[2:]))
""")


def test_ctrl_c_on_a_parallel_run_stops_at_once(tmp_path):
    """SIGINT after the first case finished: the run stops within seconds (the queued and running cases,
    two minutes each, are cancelled and their workers terminated), keeps the first verdict, exits 130."""
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    marker, report = tmp_path / "first-done", tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, str(driver), str(marker), "run", "--only", "E2", "--n", "2",
                             "--families", "gim", "--jobs", "2", "--no-progress", "--json", str(report)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.time() + 20
        while not marker.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert marker.exists(), "the first case did not finish"
        time.sleep(1.0)  # let its result reach the parent
        proc.send_signal(signal.SIGINT)
        start = time.time()
        out, err = proc.communicate(timeout=15)
        assert time.time() - start < 10
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    doc = json.loads(report.read_text())
    assert [v["case"] for v in doc["verdicts"]] == [marker.read_text()]
    assert doc["meta"]["interrupted"]["checks_finished"] == 1
    assert "Traceback" not in err and "interrupted: 1 of" in err
    # no worker is left behind
    time.sleep(0.5)
    alive = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert alive == []


@pytest.mark.parametrize("verb", ["classify", "fixed-points", "couplings", "flow", "scaling"])
def test_a_huge_hidden_layer_is_refused_before_it_is_built(tmp_path, capsys, verb):
    import time

    from verify.cli import main

    case = {"model": {"family": "rbm", "n": 3, "hidden": 100000}, "target": {"named": "independent"}}
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(case))
    start = time.perf_counter()
    assert main([verb, str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "P = 400003 parameters" in err and "\n" not in err and time.perf_counter() - start < 10


def test_a_closed_pipe_is_not_a_traceback():
    import subprocess
    import sys

    out = subprocess.run(f"{sys.executable} -m verify list --cases | true", shell=True, capture_output=True,
                         text=True, timeout=120)
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr


def test_workers_die_with_a_parent_killed_outright(tmp_path):
    # a parent killed by SIGKILL (or the out-of-memory killer) cannot stop its pool; the workers ask the
    # kernel to be terminated with it (PR_SET_PDEATHSIG), instead of running on unseen
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    script = tmp_path / "pool.py"
    script.write_text(
        "import os, sys, time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from multiprocessing import get_context\n"
        "from verify.runner import ignore_sigint\n"
        "pool = ProcessPoolExecutor(2, mp_context=get_context('fork'), initializer=ignore_sigint)\n"
        "futures = [pool.submit(time.sleep, 60) for _ in range(2)]\n"
        "time.sleep(1)\n"
        "print(' '.join(str(p) for p in pool._processes), flush=True)\n"
        "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    workers = [int(p) for p in proc.stdout.readline().split()]
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    def running(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
        except OSError:
            return False

    deadline = time.time() + 10
    alive = workers
    while alive and time.time() < deadline:
        time.sleep(0.2)
        alive = [p for p in workers if running(p)]
    for p in alive:  # do not leave them behind if the check fails
        os.kill(p, signal.SIGKILL)
    assert alive == []
