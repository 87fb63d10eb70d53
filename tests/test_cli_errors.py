"""What the command line says when the mistake is not in the program: a file that is not there, a
directory, bytes that are not UTF-8, output that cannot be written. Always one line on stderr and
exit 2 — never a traceback, and never exit 1, which means "the numerical check failed"."""
import io
import os
import subprocess
import sys
import threading

import pytest

from matcalc import cli
from matcalc.cli import main

SEED = "E = ½‖σ(Wx)−y‖²"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_file_name_that_does_not_exist_is_reported_as_such(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # `model.mc` can never be program text (the language has no `.` outside numbers)
    assert run(capsys, "derive", "model.mc", "--wrt", "x") == (2, "", "error: no such file: model.mc\n")
    assert run(capsys, "derive", "./model", "--wrt", "x") == (2, "", "error: no such file: ./model\n")
    (tmp_path / "examples").mkdir()    # a file in a folder that exists is meant as a file too
    assert run(capsys, "derive", "examples/model", "--wrt", "x") == (
        2, "", "error: no such file: examples/model\n")


def test_text_with_a_slash_is_still_a_program_when_no_such_file_exists(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "derive", "a/b", "--wrt", "a")
    assert code == 0 and out.startswith("∂f/∂a = ")
    code, out, err = run(capsys, "derive", "a/b", "--wrt", "x")       # an error then says both readings
    assert code == 2 and err.endswith("note: read as program text, since there is no file named a/b\n")
    code, out, err = run(capsys, "derive", "A.T", "--wrt", "A")       # NumPy's transpose: a caret, not a file
    assert code == 2 and err.startswith("1:2: error: unexpected character '.'")


def test_a_directory_is_an_error(capsys, tmp_path):
    code, out, err = run(capsys, "derive", str(tmp_path), "--wrt", "x")
    assert (code, out) == (2, "")
    assert err == f"error: {tmp_path} is a directory; name a program file, or - for standard input\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_read_like_standard_input(capsys, tmp_path):
    fifo = tmp_path / "program"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=(SEED,), kwargs={"encoding": "utf-8"})
    writer.start()
    code, out, err = run(capsys, "derive", str(fifo), "--wrt", "W")
    writer.join()
    assert code == 0 and out.startswith("∂E/∂W = ((s − y) ∘ s ∘ (1 − s)) xᵀ")


def test_a_file_that_is_not_utf8_is_a_user_error_not_a_failed_check(capsys, tmp_path, monkeypatch):
    latin1 = tmp_path / "model.mc"
    latin1.write_bytes("# modèle\nf = x'x\n".encode("latin-1"))
    code, out, err = run(capsys, "derive", str(latin1), "--wrt", "x")
    assert (code, out) == (2, "")
    assert err == f"error: {latin1} is not UTF-8 text (byte 0xe8 on line 1); save it as UTF-8\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"f = x'x  # \xff"), encoding="utf-8"))
    assert run(capsys, "derive", "-", "--wrt", "x") == (
        2, "", "error: standard input is not UTF-8 text (byte 0xff on line 1); save it as UTF-8\n")


def test_a_byte_order_mark_is_not_part_of_the_program(capsys, tmp_path):
    program = tmp_path / "model.mc"
    program.write_bytes("\ufeff".encode("utf-8") + SEED.encode("utf-8"))
    code, out, err = run(capsys, "derive", str(program), "--wrt", "W")
    assert code == 0 and err == ""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_output_to_a_full_device_is_a_user_error():
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "matcalc", "derive", SEED, "--wrt", "W"],
                                stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
                                env={**os.environ, "LC_ALL": "C"})
    assert result.returncode == 2
    assert result.stderr == "error: cannot write output: No space left on device\n"


def test_an_output_encoding_without_the_symbols_is_a_user_error(capsys, monkeypatch):
    # as with PYTHONIOENCODING=ascii: ∂ cannot be written
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    code, _, err = run(capsys, "derive", SEED, "--wrt", "W")
    assert code == 2
    assert err == ("error: cannot write output: the output encoding ascii cannot represent '∂'; "
                   "set PYTHONIOENCODING=utf-8\n")


def test_a_reader_that_leaves_early_is_not_an_error():
    # `matcalc derive … --numpy | head -1`: the pipe closes while matcalc is still writing
    child = subprocess.Popen([sys.executable, "-m", "matcalc", "derive", SEED, "--wrt", "W", "--numpy"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()
    assert child.wait(timeout=60) == 0
    assert child.stderr.read() == b""
    child.stderr.close()


def test_ctrl_c_exits_130_quietly(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "derive", interrupted)
    assert run(capsys, "derive", SEED, "--wrt", "W") == (130, "", "")


def test_a_bug_in_matcalc_keeps_its_traceback(monkeypatch):
    # an unexpected exception is a bug to fix, never dressed up as a user error with exit 2
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")
    monkeypatch.setattr(cli, "derive", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["derive", SEED, "--wrt", "W"])
