#!/usr/bin/env python3
"""Interleaved A/B timing of two (or more) builds of overworld-secrets on the bench corpus.

    python3 bench/ab.py [--rounds N] [--check] BIN_A BIN_B [...]

Run `bench/bench.py` once first: it makes the corpus and the key under target/bench/. Each
round runs every binary once, in alternating order, so a slow stretch of a shared VM (whose
speed drifts by 10-20 % over minutes) falls on all of them alike; medians of separate batches
taken minutes apart could not tell a 3 % change from that drift. Reported per binary: the
median, first quartile and minimum of the CPU time (user + system of all threads, from wait4)
and of the wall time.

Default command: `reseal --force --quiet` with outputs in tmpfs (/dev/shm), as in bench.py;
`--check`: `check --require-decrypt --quiet` in the corpus folder. A failing run stops the script.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import OUT, ROOT, env  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--check", action="store_true", help="time `check --require-decrypt` instead of reseal")
    ap.add_argument("bins", nargs="+")
    a = ap.parse_args()
    corpus = OUT / "corpus"
    if not corpus.is_dir():
        sys.exit("ab: no corpus: run bench/bench.py once first")
    bins = [str(Path(b).resolve()) for b in a.bins]
    if a.check:
        cwd, args = corpus, ["check", "--require-decrypt", "--quiet"]
    else:
        base = Path("/dev/shm") if Path("/dev/shm").is_dir() else OUT
        cwd = base / "overworld-secrets-ab-reseal"
        shutil.rmtree(cwd, ignore_errors=True)
        cwd.mkdir(parents=True)
        (cwd / "overworld-secrets.yaml").write_text(
            f"clusters:\n  bench:\n    sources: {corpus}\n    sealed: {cwd}/sealed\n"
            f"    cert: {ROOT}/keys/clusters/demo.pem\n"
        )
        args = ["reseal", "--force", "--quiet"]
    devnull = os.open(os.devnull, os.O_RDWR)

    def once(b: str) -> tuple[float, float]:
        os.chdir(cwd)
        t0 = time.perf_counter()
        pid = os.posix_spawn(b, [b, *args], env(),
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
        _, status, ru = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
        if status != 0:
            sys.exit(f"ab: {b} {' '.join(args)} failed (status {status})")
        return ru.ru_utime + ru.ru_stime, wall

    for b in bins:  # warm the page cache and create the outputs
        once(b)
    cpu: dict[str, list[float]] = {b: [] for b in bins}
    wall: dict[str, list[float]] = {b: [] for b in bins}
    for r in range(a.rounds):
        for b in bins if r % 2 == 0 else bins[::-1]:
            c, w = once(b)
            cpu[b].append(c)
            wall[b].append(w)
    print(f"{' '.join(args)}, {a.rounds} interleaved rounds (ms):")
    for b in bins:
        c, w = sorted(cpu[b]), sorted(wall[b])
        q = len(c) // 4
        print(f"  {b}\n    CPU  median {statistics.median(c)*1e3:7.1f}  p25 {c[q]*1e3:7.1f}  min {c[0]*1e3:7.1f}"
              f"\n    wall median {statistics.median(w)*1e3:7.1f}  p25 {w[q]*1e3:7.1f}  min {w[0]*1e3:7.1f}")
    if not a.check:
        shutil.rmtree(cwd, ignore_errors=True)


if __name__ == "__main__":
    main()
