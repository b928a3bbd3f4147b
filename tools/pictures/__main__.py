"""``python -m tools.pictures [--out DIR] [NAME ...]``: draw the derivation pages' pictures."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from tools.pictures import PICTURES
from tools.pictures.common import IMG


def draw(picture, out: Path) -> Path:
    """Draw one picture into ``out``; returns the file written."""
    module = importlib.import_module(f"tools.pictures.{picture.module}")
    path = out / picture.name
    getattr(module, f"draw_{picture.function}")(path)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pictures",
                                     description="Draw the derivation pages' pictures.")
    parser.add_argument("--out", type=Path, default=IMG, help="folder (default docs/img)")
    parser.add_argument("names", nargs="*", help="only these files (default: all)")
    args = parser.parse_args(argv)
    known = {p.name for p in PICTURES}
    unknown = sorted(set(args.names) - known)
    if unknown:
        parser.error(f"unknown picture(s) {unknown}; expected some of {sorted(known)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for picture in PICTURES:
        if args.names and picture.name not in args.names:
            continue
        start = time.perf_counter()
        path = draw(picture, args.out)
        print(f"{path}: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
