#!/usr/bin/env python3
"""Benchmarks of overworld-secrets against the real peers, side by side in one run (issue 9).

    python3 bench/bench.py [--runs N] [--quick]

Needs the oracles of scripts/test.sh (target/oracles: the real sops) and openssl. It builds the
release binary, generates its corpus under target/bench/ (500 Kubernetes Secrets with 5 data keys
each, SOPS-encrypted to 2 age recipients — the TEST-ONLY fixture keys), and reports medians and
ratios for:
  - bulk decrypt + MAC verify: `overworld-secrets check --require-decrypt` on the corpus vs the real
    `sops decrypt` in a shell loop, and vs the crypto floor (`cargo bench --bench crypto_floor`),
    in time and, when valgrind is installed, in instructions (callgrind counts repeat exactly,
    while time on a shared 2-core VM moves by tens of percent between runs);
  - single-file decrypt latency (process start to exit) vs `sops decrypt`;
  - reseal of the corpus (2,500 values, RSA-4096): values/s, and per core both as values per
    CPU-second (user + system time of all threads) and as values / wall / cores, next to `openssl
    speed rsa4096` (public-key ops/s per core) measured in the same run; once writing into the
    repository's filesystem and once into tmpfs, which separates the filesystem's cost (on this
    VM's journal-less ext4, creating files is itself slow) from the tool's;
  - peak RSS of each (GNU time's %M);
  - seed-infisical of 500 secrets in 20 folders against the fake server: HTTP request counts.
Speed is only measured here, never asserted in a test.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "bench"
SOPS = Path(os.environ.get("OVERWORLD_SOPS_BIN", ROOT / "target/oracles/bin/sops"))
BIN = ROOT / "target/release/overworld-secrets"
KEYS = ROOT / "tests/fixtures/sops/keys"
RECIPIENTS = [
    "age1ks8uufh9q0l3ae7vseg5pj3ns42kdfqd2jfz86sm8tp862wc5y8swyackd",
    "age1cdrwk9r9p3qeatkhm0p9qyra2jk5834l8r38eyc2ml9l5d59wsfq3u2ccj",
]


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    e["HOME"] = str(OUT / "home")
    e["SOPS_AGE_KEY_FILE"] = str(OUT / "home" / "test-key-b.agekey")  # the 2nd recipient: a realistic try order
    e["CI"] = "true"
    e.update(extra)
    return e


def run(cmd: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, **kw)
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stderr.decode()[-2000:]}")
    return r


def timed(cmd: list[str], cwd: Path, runs: int) -> tuple[float, int, float]:
    """Median wall time over `runs`, the peak RSS (KiB) seen, and the median CPU time (user +
    system, all threads). The command is started with posix_spawn and reaped with wait4, whose
    CPU times are the child's own: no /usr/bin/time or shell in between to time as well."""
    times, cpus, rss = [], [], 0
    err = OUT / "timed.stderr"
    for _ in range(runs):
        with open(err, "wb") as e:
            actions = [
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, e.fileno(), 2),
            ]
            here = os.getcwd()
            os.chdir(cwd)
            try:
                t0 = time.perf_counter()
                pid = os.posix_spawn(cmd[0], cmd, env(), file_actions=actions)
                _, status, usage = os.wait4(pid, 0)
                times.append(time.perf_counter() - t0)
            finally:
                os.chdir(here)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"bench: {cmd} failed:\n{err.read_text()[-2000:]}")
        cpus.append(usage.ru_utime + usage.ru_stime)
    # Peak RSS from one more run under GNU time: a posix_spawn child's ru_maxrss counts the
    # Python parent's memory it shared until exec.
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], cwd=cwd, env=env(), capture_output=True)
    if r.returncode == 0:
        rss = int(r.stderr.decode().strip().splitlines()[-1])
    return statistics.median(times), rss, statistics.median(cpus)


def callgrind_instructions(cmd: list[str], cwd: Path, extra: list[str] | None = None) -> int:
    """Instructions executed by `cmd` under callgrind (repeatable, unlike time on a shared VM)."""
    r = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *(extra or []), *cmd],
        cwd=cwd, env=env(), capture_output=True, text=True,
    )
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode != 0 or not m:
        sys.exit(f"bench: callgrind of {cmd} failed:\n{r.stderr[-2000:]}")
    return int(m.group(1))


def instruction_ratio(corpus: Path, n: int) -> str:
    """The bulk check against the crypto floor in instructions: the whole `check` process over
    the corpus, per file, against one call of the floor's `one_file` (5 rounds of 500)."""
    if not shutil.which("valgrind"):
        return "not measured (no valgrind)"
    built = subprocess.run(
        ["cargo", "bench", "--bench", "crypto_floor", "--no-run"], cwd=ROOT, capture_output=True, text=True
    )
    m = re.search(r"Executable .*\((.*crypto_floor-[0-9a-f]+)\)", built.stderr)
    if not m:
        return "not measured (crypto_floor binary not found)"
    floor = callgrind_instructions(
        [str(ROOT / m.group(1)), "decrypt"], ROOT, ["--toggle-collect=crypto_floor::one_file"]
    ) / (5 * n)
    ours = callgrind_instructions([str(BIN), "check", "--require-decrypt", "--quiet"], corpus) / n
    return f"{ours/1e6:.2f} M / {floor/1e6:.2f} M = {ours/floor:.2f}×"


def private_key_copy() -> None:
    """The TEST-ONLY key as a 0600 file, as a real key file is (a readable one gets a warning)."""
    home = OUT / "home"
    home.mkdir(parents=True, exist_ok=True)
    dst = home / "test-key-b.agekey"
    dst.write_bytes((KEYS / "test-key-b.agekey").read_bytes())
    dst.chmod(0o600)


def make_corpus(n: int) -> Path:
    corpus = OUT / "corpus"
    if corpus.exists() and len(list(corpus.glob("secret-*.yaml"))) == n:
        return corpus
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    (OUT / "home").mkdir(exist_ok=True)
    (corpus / ".sops.yaml").write_text(
        "creation_rules:\n  - path_regex: .*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n"
        f"    age: {','.join(RECIPIENTS)}\n"
    )
    import base64

    for i in range(n):
        data = "".join(
            f"  key{k}: {base64.b64encode(f'secret-value-{i}-{k}-padding-padding'.encode()).decode()}\n"
            for k in range(5)
        )
        (corpus / f"secret-{i:03}.yaml").write_text(
            f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-{i:03}\n  namespace: ns{i % 20}\n"
            f"type: Opaque\ndata:\n{data}"
        )
    # Encrypted by the real sops, so what we decrypt is what the peer writes.
    for f in sorted(corpus.glob("secret-*.yaml")):
        run([str(SOPS), "encrypt", "-i", f.name], corpus)
    return corpus


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sops-runs", type=int, default=3, help="runs of the 500-file sops loop")
    args = ap.parse_args()
    if not SOPS.exists():
        sys.exit("bench: the real sops is missing: run scripts/test.sh once (it installs target/oracles)")
    print("==> cargo build --release", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    cores = os.cpu_count() or 1
    results: list[tuple[str, str]] = []

    private_key_copy()
    corpus = make_corpus(500)
    files = sorted(p.name for p in corpus.glob("secret-*.yaml"))

    # Bulk decrypt + MAC verify.
    ours_bulk, ours_bulk_rss, ours_bulk_cpu = timed(
        [str(BIN), "check", "--require-decrypt", "--quiet"], corpus, args.runs
    )
    loop = "for f in secret-*.yaml; do \"$SOPS\" decrypt \"$f\" >/dev/null || exit 1; done"
    sops_times = []
    for _ in range(args.sops_runs):
        t0 = time.perf_counter()
        subprocess.run(["bash", "-c", loop], cwd=corpus, env=env(SOPS=str(SOPS)), check=True)
        sops_times.append(time.perf_counter() - t0)
    sops_bulk = statistics.median(sops_times)
    floor = subprocess.run(
        ["cargo", "bench", "--quiet", "--bench", "crypto_floor"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    floor_us = float(re.search(r"per_file_us=([\d.]+)", floor).group(1))
    seal_floor = float(re.search(r"values_per_s_one_core=([\d.]+)", floor).group(1))
    n = len(files)
    instr = instruction_ratio(corpus, n)
    results += [
        (f"bulk decrypt+MAC, {n} files: overworld-secrets check --require-decrypt (wall)",
         f"{ours_bulk*1000:.1f} ms ({ours_bulk/n*1e6:.0f} µs/file)"),
        ("  same, CPU time of all threads (user+sys)", f"{ours_bulk_cpu*1000:.0f} ms ({ours_bulk_cpu/n*1e6:.0f} µs/file)"),
        (f"bulk decrypt, {n} files: sops decrypt shell loop (wall)", f"{sops_bulk:.2f} s ({sops_bulk/n*1000:.1f} ms/file)"),
        ("speed-up vs the sops loop, wall (target ≥ 100×)", f"{sops_bulk/ours_bulk:.0f}×"),
        ("crypto floor per file, one core (age unwrap + 6× AES-GCM + SHA-512)", f"{floor_us:.0f} µs"),
        ("bulk CPU per file / crypto floor (target ≤ 2×)", f"{ours_bulk_cpu/n*1e6/floor_us:.2f}×"),
        ("bulk wall per file / crypto floor", f"{ours_bulk/n*1e6/floor_us:.2f}×"),
        ("instructions per file, whole `check` process / crypto floor (callgrind; target ≤ 2×)", instr),
    ]

    # Single-file latency.
    one = files[0]
    ours_one, ours_one_rss, _ = timed([str(BIN), "decrypt", one], corpus, args.runs * 4)
    sops_one, sops_one_rss, _ = timed([str(SOPS), "decrypt", one], corpus, args.runs * 4)
    results += [
        ("single-file decrypt latency: overworld-secrets", f"{ours_one*1000:.1f} ms"),
        ("single-file decrypt latency: sops", f"{sops_one*1000:.1f} ms"),
        ("latency ratio (target ≤ 1/5)", f"1/{sops_one/ours_one:.1f}"),
    ]

    # reseal of the corpus: 2,500 values to the RSA-4096 demo certificate, writing into the
    # repository's filesystem (target/bench) and, to tell the tool's cost from the filesystem's,
    # into tmpfs (/dev/shm) when there is one.
    values = 5 * n
    speed = subprocess.run(["openssl", "speed", "-seconds", "3", "rsa4096"], capture_output=True, text=True).stdout
    m = re.search(r"rsa 4096 bits\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)", speed)
    verify_per_s = float(m.group(2)) if m else float("nan")
    reseal_rss = 0
    places = [("repository filesystem", OUT / "reseal")]
    if Path("/dev/shm").is_dir():
        places.append(("tmpfs", Path("/dev/shm") / "overworld-secrets-bench-reseal"))
    for where, rdir in places:
        shutil.rmtree(rdir, ignore_errors=True)
        rdir.mkdir(parents=True)
        (rdir / "overworld-secrets.yaml").write_text(
            f"clusters:\n  bench:\n    sources: {corpus}\n    sealed: {rdir}/sealed\n    cert: {ROOT}/keys/clusters/demo.pem\n"
        )
        t, rss, cpu = timed([str(BIN), "reseal", "--force", "--quiet"], rdir, args.runs * 3)
        reseal_rss = max(reseal_rss, rss)
        results += [
            (f"reseal --force of the corpus ({values} values, RSA-4096, {cores} cores), {where}: wall",
             f"{t:.3f} s = {values/t:,.0f} values/s"),
            ("  values/s per core = values / CPU time of all threads (target ≥ 10,000)",
             f"{values/cpu:,.0f} ({cpu*1000:.0f} ms CPU, {cpu/t:.2f} cores busy)"),
            ("  values/s per core = values / wall / cores", f"{values/t/cores:,.0f}"),
        ]
        if where == "tmpfs":
            shutil.rmtree(rdir, ignore_errors=True)
    results += [
        ("sealing floor, one core: RSA-OAEP-4096 + AES-GCM per value (crypto_floor)", f"{seal_floor:,.0f} values/s"),
        ("openssl speed rsa4096 public-key ops/s (one core, same run)", f"{verify_per_s:,.0f}"),
    ]

    # Peak memory.
    results += [
        ("peak RSS: check --require-decrypt (500 files)", f"{ours_bulk_rss/1024:.1f} MB"),
        ("peak RSS: reseal --force (500 files)", f"{reseal_rss/1024:.1f} MB"),
        ("peak RSS: single decrypt, ours / sops", f"{ours_one_rss/1024:.1f} MB / {sops_one_rss/1024:.1f} MB"),
    ]

    # seed-infisical request counts against the fake server.
    t = subprocess.run(
        ["cargo", "test", "--quiet", "--test", "integration", "bench_seed_500", "--", "--nocapture"],
        cwd=ROOT, capture_output=True, text=True,
    ).stdout
    m = re.search(r"BENCH seed-infisical (.*)", t)
    results.append(("seed-infisical, 500 secrets in 20 folders (fake server)", m.group(1) if m else "not measured"))

    w = max(len(k) for k, _ in results)
    print(f"overworld-secrets benchmarks — {time.strftime('%Y-%m-%d')}, {cores} cores, medians of {args.runs} runs")
    for k, v in results:
        print(f"  {k.ljust(w)}  {v}")


if __name__ == "__main__":
    main()
