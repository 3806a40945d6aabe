"""Server settings read word lists the way `lineocr read --lexicon` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineocr.decode import load_lexicon
from lineocr.serve.settings import Settings, SettingsError


def test_named_lexicons_are_read_like_the_cli_reads_them(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("alpha beta\n\ngamma\talpha\n", encoding="utf-8")
    served = Settings(lexicons={"w": str(words)}).lexicon_words()
    assert served == {"w": load_lexicon(words)} == {"w": ("alpha", "beta", "gamma")}


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"\xff\xfe\x00bad", "is not UTF-8 text"), (b"  \n\t\n", "has no words")],
)
def test_a_bad_named_lexicon_is_a_settings_error_naming_it(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "words.txt"
    path.write_bytes(content)
    with pytest.raises(SettingsError, match=rf"lexicon 'w': .*{problem}"):
        Settings(lexicons={"w": str(path)}).lexicon_words()
