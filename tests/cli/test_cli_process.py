"""How ``handgrad`` stops: Ctrl-C (one line, exit 130), a reader that goes away (quietly,
exit 141), a closed stderr, a bad MPLBACKEND. Real processes where a real signal or pipe is
the point; the rest in this process."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from handgrad.compare import cli
from handgrad.compare.cli import count, process

HANDGRAD = [sys.executable, "-m", "handgrad"]
UNTUNED = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}


def interrupt(argv, marker: str, env=None, delay: float = 0.0):
    """Start ``argv``, send SIGINT ``delay`` seconds after a stdout line holds ``marker``;
    (rc, stderr, secs)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        for line in proc.stdout:
            if marker in line:
                break
        else:
            raise AssertionError(f"{marker!r} never came: {proc.stderr.read()}")
        time.sleep(delay)
        start = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        return proc.returncode, err, time.perf_counter() - start
    finally:
        if proc.poll() is None:
            proc.kill()


def test_ctrl_c_during_the_work_is_one_line_and_exit_130(tmp_path):
    rc, err, _ = interrupt([*HANDGRAD, "verify", "--json", str(tmp_path / "v.json")], "config")
    assert rc == 130
    assert len(err.splitlines()) == 1, err
    assert err.startswith("handgrad: interrupted after ") and "of 150 checks" in err
    assert err.rstrip().endswith("; nothing written")
    assert list(tmp_path.iterdir()) == []  # no JSON, no temporary file


def test_ctrl_c_during_the_lazy_imports_is_one_line_and_exit_130():
    # the signal lands while run() imports torch (seconds), not inside compare.cli's import;
    # it is held until that import returns (raised inside torch's set-up it aborts)
    code = ("import sys; from handgrad.compare.cli import main; print('main', flush=True); "
            "sys.exit(main(['verify']))")
    # 0.3 s after the marker: inside main() (its handler is set in microseconds), while the
    # import of torch (over a second) is still running; landing later, in the work, is
    # also one line and 130
    rc, err, _ = interrupt([sys.executable, "-c", code], "main", delay=0.3)
    assert rc == 130
    assert len(err.splitlines()) == 1 and err.startswith("handgrad: interrupted"), err


def test_ctrl_c_reaches_the_bench_child_and_comes_back_as_one_line():
    # no MALLOC_* in the environment: the bench measures in a child process
    rc, err, secs = interrupt([*HANDGRAD, "bench", "--threads", "1", "--cases",
                               "1024-500-10:128", "--repeats", "200"], "glibc malloc tuning",
                              env=UNTUNED)
    assert rc == 130
    assert err.splitlines() == ["handgrad: interrupted after 0 timed row(s)"], err
    assert secs < 60  # forwarded, not waited out (200 repeats of 0.2 s would be minutes)


def test_a_reader_that_goes_away_ends_quietly_with_141():
    proc = subprocess.Popen([*HANDGRAD, "count", "1024", "500", "10"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # as `| head` does once it has read its lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == process.EXIT_PIPE == 141
    assert err == ""


def test_verify_into_head_ends_quietly():
    proc = subprocess.Popen([*HANDGRAD, "verify", "--dtype", "float64"], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = [proc.stdout.readline() for _ in range(3)]
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert lines[0].startswith("config") and err == ""


def test_bench_into_head_ends_quietly_and_stops_its_child(tmp_path):
    proc = subprocess.Popen([*HANDGRAD, "bench", "--quick", "--threads", "1", "--cases",
                             "3-2-1:2", "--json", str(tmp_path / "b.json")], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=UNTUNED)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()  # to its end: handgrad has exited
    assert proc.wait(timeout=120) == 141
    assert "glibc malloc tuning: on" in first and err == ""
    assert [p.name for p in tmp_path.iterdir()] in ([], ["b.json"])  # no temporary file


def test_with_stderr_closed_an_error_goes_nowhere_and_exits_2():
    proc = subprocess.run(["sh", "-c", 'exec "$@" 2>&-', "sh", *HANDGRAD, "count", "5"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""


def test_with_stderr_none_in_process_the_commands_run(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sys, "stderr", None)
    assert cli.main(["count", "5"]) == 2
    assert cli.main(["train", "--dataset", "xor", "--hidden", "none", "--epochs", "1",
                     "--no-gif", "--out", str(tmp_path / "r")]) == 0  # its progress bar asks
    # sys.stderr.isatty()
    assert "handgrad" not in capsys.readouterr().out  # no error slipped onto stdout


@pytest.mark.parametrize("argv", [["count", "3", "4"], ["count", "1024", "500", "10"]])
def test_count_needs_no_matplotlib(argv):
    env = {**os.environ, "MPLBACKEND": "nonsense"}
    proc = subprocess.run([*HANDGRAD, *argv], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""


@pytest.mark.parametrize("argv", [["bench", "--quick", "--plot", "{tmp}/b.png"],
                                  ["train", "--epochs", "1", "--out", "{tmp}/run"]])
def test_a_command_that_plots_names_a_bad_mplbackend(argv, tmp_path):
    env = {**os.environ, "MPLBACKEND": "nonsense"}
    start = time.perf_counter()
    proc = subprocess.run([*HANDGRAD, *[a.format(tmp=tmp_path) for a in argv]],
                          capture_output=True, text=True, env=env, timeout=60)
    assert time.perf_counter() - start < 10  # before any measuring or training
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"handgrad {argv[0]}: error: MPLBACKEND='nonsense' is not a matplotlib backend; "
        "unset it (handgrad draws its files with Agg) or name one, e.g. MPLBACKEND=agg"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["bench", "--threads", "0"], ["bench", "--cases", "1024"],
                                  ["bench", "--repeats", "0"], ["verify", "--json", "."]])
def test_usage_errors_come_within_2_seconds(argv):
    start = time.perf_counter()
    proc = subprocess.run([*HANDGRAD, *argv], capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - start < 2
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(f"handgrad {argv[0]}: error: argument "
                                                   f"{argv[1]}: ")


@pytest.mark.parametrize("exc, line", [
    (KeyboardInterrupt("interrupted at epoch 3, step 7; nothing written"),
     "handgrad: interrupted at epoch 3, step 7; nothing written"),
    (KeyboardInterrupt(), "handgrad: interrupted"),
    (KeyboardInterrupt("two\nlines"), "handgrad: two lines"),
])
def test_a_keyboard_interrupt_is_one_line_and_130(exc, line, monkeypatch, capsys):
    def stop(args):
        raise exc
    monkeypatch.setattr(count, "run", stop)
    assert cli.main(["count", "3", "4"]) == 130
    assert capsys.readouterr().err.splitlines() == [line]


def test_an_error_a_library_made_of_a_ctrl_c_is_reported_as_the_interrupt(monkeypatch, capsys):
    def stop(args):
        assert signal.getsignal(signal.SIGINT) is process._on_sigint  # main's handler ...
        process._INTERRUPTS.append(signal.SIGINT)  # ... recorded a Ctrl-C, and a library
        raise ImportError("cannot load module more than once per process")  # made this
    monkeypatch.setattr(count, "run", stop)
    assert cli.main(["count", "3", "4"]) == 130
    assert capsys.readouterr().err.splitlines() == ["handgrad: interrupted"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_importing_is_seen_from_inside_an_import(tmp_path, monkeypatch):
    (tmp_path / "probe_import_frame.py").write_text(
        "import sys\nfrom compare.cli import process\n"
        "SEEN = process._importing(sys._getframe())\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import probe_import_frame

    assert probe_import_frame.SEEN is True
    assert process._importing(sys._getframe()) is False
    assert Path(probe_import_frame.__file__).parent == tmp_path
