"""Writing files atomically: a reader sees the old file or the new one, never half of one."""
import json
import os
from pathlib import Path


def write_atomically(path, write):
    """Call write(temporary path), flush the temporary file to disk, then rename it onto
    `path`: after a crash or a power cut the file is the old one or the new one, whole."""
    path = Path(path)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")   # keeps the suffix tools look at
    try:
        write(partial)
        descriptor = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_text(path, text):
    write_atomically(path, lambda partial: partial.write_text(text))


def write_json(path, data):
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")
