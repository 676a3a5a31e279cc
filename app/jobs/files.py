"""Where jobs write: a private folder under the data directory, files only the server's user can read.

Export files hold every patient's record, so folders are 0700 and files 0600 whatever the umask; a
finished file's sha256 goes on the audit trail.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import IO


def jobs_dir(data_dir: Path | str) -> Path:
    """The folder every job's output lives in (`<data dir>/exports`)."""
    return Path(data_dir) / "exports"


def private_dir(path: Path) -> Path:
    """A folder only the server's user may enter (export files hold every patient's record)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path) -> IO[bytes]:
    """A new file created 0600, whatever the umask: readable by the server's user only."""
    path.unlink(missing_ok=True)  # a leftover partial from a crashed run: start afresh, privately
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
