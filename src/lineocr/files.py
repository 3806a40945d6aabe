"""Find files on disk: the folder walk that ``lineocr read`` and the dataset readers share.

Standard library only, so that ``lineocr read DIR`` lists a folder without importing the
dataset readers.
"""

from __future__ import annotations

import os
from pathlib import Path


def os_reason(exc: OSError) -> str:
    """The system's reason, worded as lineocr's other reasons: ``"permission denied"``."""
    reason = exc.strerror or str(exc)
    return reason[:1].lower() + reason[1:]


def walk_files(root: Path, *, unreadable: list[tuple[Path, str]]) -> list[Path]:
    """Every file under ``root``, sorted, skipping hidden files and folders (``.git``, macOS'
    ``._x.png`` companions). Linked folders are followed, each real folder once: a link back
    up the tree (a loop) or a second link to a folder already searched adds nothing.

    A folder that cannot be listed (permission denied, removed meanwhile), ``root`` included,
    is appended to ``unreadable`` as (folder, reason: ``"permission denied"``) and the walk
    goes on: each caller says it as it says its other bad inputs."""
    files: list[Path] = []
    seen = {os.path.realpath(root)}
    pending = [root]
    while pending:
        folder = pending.pop()
        entries: list[os.DirEntry[str]] = []
        try:
            with os.scandir(folder) as listing:
                for entry in listing:  # one by one: what was listed before an error is kept
                    entries.append(entry)
        except OSError as exc:
            unreadable.append((folder, os_reason(exc)))
        folders = []
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            if not _is_folder(entry):
                files.append(path)
            elif (real := os.path.realpath(path)) not in seen:
                seen.add(real)
                folders.append(path)
        pending.extend(reversed(folders))  # depth first in name order: the same links win
    return sorted(files)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    """A folder, or a link to one; a link that leads nowhere (broken, a loop) is a file, as
    ``os.walk`` has it, and reading it says why."""
    try:
        return entry.is_dir()
    except OSError:
        return False
