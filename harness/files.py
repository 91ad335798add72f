"""Writing files atomically: a reader sees the old file or the new one, never half of one."""
import json
import os
from pathlib import Path


def write_atomically(path, write, failed_path=None):
    """Call write(temporary path), flush the temporary file to disk, then rename it onto
    `path`: after a crash or a power cut the file is the old one or the new one, whole.

    If `write` raises and failed_path is given, what it had written is kept there (also
    renamed atomically): a notebook that failed half way, with its error, for reading."""
    path = Path(path)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")   # keeps the suffix tools look at
    try:
        write(partial)
        _replace(partial, path)
    except BaseException:
        if failed_path is not None and partial.exists():
            _replace(partial, failed_path)
        raise
    finally:
        partial.unlink(missing_ok=True)


def _replace(written, path):
    """Flush `written` to disk, then rename it onto `path`."""
    descriptor = os.open(written, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(written, path)


def write_text(path, text):
    write_atomically(path, lambda partial: partial.write_text(text))


def write_json(path, data):
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")
