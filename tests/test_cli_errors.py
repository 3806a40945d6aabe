"""Bad command-line input anywhere is one clear ``error:`` line and exit status 2, never a
traceback: option values, output paths, server URLs and settings, and (the safety net in
``lineocr.cli.main``) whatever a command does not name itself."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineocr import cli
from lineocr.cli import app

runner = CliRunner()


def one_error_line(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert message in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "99999"], "port must be within 0-65535"),
        (["--max-body-mb", "nan"], "--max-body-mb must be a positive number"),
        (["--log-level", "loud"], "log_level must be one of"),
    ],
)
def test_serve_settings_are_checked_before_serving(args, message) -> None:
    one_error_line(runner.invoke(app, ["serve", *args]), message)


def test_serve_lexicon_that_is_not_text(tmp_path: Path) -> None:
    binary = tmp_path / "words.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x81")
    result = runner.invoke(app, ["serve", "--lexicon", f"w={binary}"])
    one_error_line(result, "is not UTF-8 text")


@pytest.mark.parametrize(
    ("url", "message"),
    [("notaurl", "is not an http(s) URL"), ("http://[::1", "is not a valid URL")],
)
def test_read_server_url_is_checked(url: str, message: str, tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(b"")
    one_error_line(runner.invoke(app, ["read", "--server", url, str(image)]), message)


def test_synth_preview_path_is_checked_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "set"
    args = ["synth", "-o", str(out), "--n", "3"]
    one_error_line(
        runner.invoke(app, [*args, "--preview", str(tmp_path / "p.xyz")]), "must end in .png"
    )
    one_error_line(
        runner.invoke(app, [*args, "--preview", str(tmp_path / "no" / "p.png")]), "does not exist"
    )
    assert not out.exists()  # nothing written before the error


def test_lm_output_that_is_a_directory(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello world\n", encoding="utf-8")
    result = runner.invoke(app, ["lm", "-o", str(tmp_path), "--text", str(corpus)])
    one_error_line(result, "is a directory")


def test_main_turns_any_unnamed_error_into_one_line(monkeypatch, capsys) -> None:
    def broken() -> None:
        raise RuntimeError("something no command names\nsecond line")

    monkeypatch.setattr(cli, "app", broken)
    monkeypatch.setattr(sys, "argv", ["lineocr"])
    monkeypatch.delenv("LINEOCR_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "error: RuntimeError: something no command names (LINEOCR_DEBUG=1 shows the traceback)"
    )
    monkeypatch.setenv("LINEOCR_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main()


# -- every command, through lineocr.cli.main: a closed output pipe, Ctrl-C, usage errors --


def run_main(monkeypatch, *args: str) -> int:
    """``lineocr ARGS`` as the installed script runs it; returns the exit status."""
    monkeypatch.setattr(sys, "argv", ["lineocr", *args])
    with pytest.raises(SystemExit) as info:
        cli.main()
    code = info.value.code
    return code if isinstance(code, int) else 0 if code is None else 1


@pytest.mark.parametrize(
    "args", [["models"], ["models", "--json"], ["--help"], ["read", "--help"], ["--version"]]
)
def test_a_closed_output_pipe_ends_any_command_quietly_with_status_141(args) -> None:
    """``lineocr ... | head``: 141, as a shell reports for ``cat``, and nothing on stderr;
    typer alone exits 1 (the status that says an input failed), rich's help output too."""
    import subprocess

    process = subprocess.Popen(
        [sys.executable, "-m", "lineocr", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader has gone before anything is written
    stderr = process.stderr.read()
    assert (process.wait(timeout=120), stderr) == (141, b"")


def test_ctrl_c_in_any_command_says_interrupted_with_status_130(monkeypatch, capsys) -> None:
    from lineocr import zoo

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(zoo, "list_models", interrupted)
    assert run_main(monkeypatch, "models") == 130
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "interrupted\n")


def test_a_broken_pipe_in_any_command_is_status_141_in_process(monkeypatch, capsys) -> None:
    from lineocr import zoo

    def reader_gone() -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(zoo, "list_models", reader_gone)
    assert run_main(monkeypatch, "models") == 141
    assert capsys.readouterr().err == ""


def test_usage_errors_help_and_version_keep_their_statuses(monkeypatch, capsys) -> None:
    from lineocr import __version__

    assert run_main(monkeypatch, "models", "--bogus") == 2
    assert "No such option: --bogus" in capsys.readouterr().err
    assert run_main(monkeypatch, "--version") == 0
    assert capsys.readouterr().out == f"lineocr {__version__}\n"
    assert run_main(monkeypatch, "models", "--help") == 0
    assert "List the bundled models" in capsys.readouterr().out
    assert run_main(monkeypatch) == 2  # no_args_is_help: the help, as a usage error
    assert "Commands" in capsys.readouterr().out


def _command_names() -> list[str]:
    import click
    import typer

    group = typer.main.get_command(app)
    return group.list_commands(click.Context(group))


@pytest.mark.parametrize(
    "command", [[], *([name] for name in _command_names())], ids=lambda c: c[0] if c else "group"
)
def test_help_shows_no_type_after_on_off_options(command: list[str]) -> None:
    """typer 0.29 showed ``--tta <bool>``, ``--json <bool>``, ``--help <bool>``, as if the
    flag took a value: ``--tta true`` then read "true" as an input file. Options that take
    a value keep their type."""
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "--help" in result.output
    if command == ["read"]:
        assert "<int>" in result.output  # e.g. --batch-size
