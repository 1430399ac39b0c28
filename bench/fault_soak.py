"""The long convergence-under-faults run (on demand; the suite runs a bounded version).

Several editors (the editor's real SyncClient) type unique tokens and delete whole tokens
through a fault-injecting proxy while a seeded schedule injects latency, throttling,
resets, FINs, mid-frame cuts, stalls and partitions, and kills the server process with
SIGKILL and restarts it. After each kill, before clients may reconnect, a fresh reader
checks every acknowledged token; at the end everything heals and the invariants are
checked (tests/faults/harness.py: run_chaos). Prints the figures::

    .venv/bin/python bench/fault_soak.py                    # 120 s, 4 editors, 10 kills
    .venv/bin/python bench/fault_soak.py --seconds 600 --kills 40 --seed 7

Exit status 0 only if nothing was lost or duplicated and every replica healed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.faults from a checkout

from tests.faults.harness import ChaosConfig, run_chaos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="editing under faults")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--kills", type=int, default=10, help="kill -9 + restart count")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    config = ChaosConfig(
        seed=args.seed,
        clients=args.clients,
        duration=args.seconds,
        kills=args.kills,
        heal_deadline=120.0,
        log=lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True),
    )
    print(
        f"fault soak: {args.clients} editors, {args.seconds:.0f} s, {args.kills} kills, "
        f"seed {args.seed}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="coscribe-soak-") as tmp:
        try:
            report = asyncio.run(run_chaos(config, Path(tmp) / "data"))
        except AssertionError as exc:
            print(f"FAILED: {exc}")
            return 1
    print("\n".join(report.lines()))
    return 0 if report.lost == report.duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
