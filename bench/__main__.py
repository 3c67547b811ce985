"""``python -m bench``: run the store and index benchmark (see ``bench/RESULTS.md``).

python -m bench                                 # both sizes, writes bench/RESULTS.md
python -m bench store --sizes 10000,100000      # the same, explicitly
python -m bench store --quick                   # 2,000 articles, a smoke test (no file written)
python -m bench feeds                           # 1,000 feeds over loopback, writes its section
python -m bench alerts                          # live alerts: matching and delivery (section of RESULTS.md)
python -m bench synth 10000                     # just generate (or find) a synthetic store
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.store_index import Options, main
from bench.synth import DEFAULT_BASE, ensure_store

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be whole numbers separated by commas, got {text!r}") from None
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError("each size must be at least 100")
    return sizes


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command")
    store = sub.add_parser("store", help="benchmark the article store and index against the naive baseline")
    store.add_argument("--sizes", type=_sizes, default=(10_000, 100_000), help="comma-separated article counts")
    store.add_argument("--quick", action="store_true", help="2,000 articles and fewer queries: a smoke test")
    store.add_argument("--seed", type=int, default=1)
    store.add_argument("--queries", type=int, default=400, help="queries per kind (ours)")
    store.add_argument("--naive-queries", type=int, default=100, help="queries per kind (naive)")
    store.add_argument(
        "--naive-sample",
        type=int,
        default=None,
        metavar="K",
        help="time the naive cold index over every K-th file only and extrapolate linearly (labelled as such); "
        "default: 1 up to 20,000 files, else the K that gives about 20,000",
    )
    store.add_argument(
        "--naive-full", action="store_true", help="time the naive cold index over every file at every size (slow)"
    )
    store.add_argument("--base", type=Path, default=DEFAULT_BASE, help="where stores and databases are kept")
    store.add_argument(
        "--out", type=Path, default=None, help=f"write the report here (default: {RESULTS} for full runs)"
    )
    digests = sub.add_parser("digests", help="benchmark scheduled digests (bench/digests.py)")
    digests.add_argument("--size", type=int, default=10_000, help="articles in the synthetic store")
    digests.add_argument("--base", type=Path, default=DEFAULT_BASE)
    digests.add_argument("--out", type=Path, default=RESULTS, help="file whose digests section is replaced")
    roundtrip = sub.add_parser("roundtrip", help="benchmark slash commands through the emulator (bench/roundtrip.py)")
    roundtrip.add_argument("--size", type=int, default=100_000, help="articles in the synthetic store")
    roundtrip.add_argument("--count", type=int, default=300, help="interactions per kind")
    roundtrip.add_argument("--seconds", type=float, default=4.0, help="duration of the throughput run")
    roundtrip.add_argument("--base", type=Path, default=DEFAULT_BASE)
    feeds = sub.add_parser("feeds", help="benchmark refreshing 1,000 feeds served over loopback (bench/feeds.py)")
    feeds.add_argument("--out", type=Path, default=RESULTS, help="file whose feeds section is replaced")
    follows = sub.add_parser("follows", help="benchmark personal follows' matching and digests (bench/follows.py)")
    follows.add_argument("--out", type=Path, default=RESULTS, help="file whose follows section is replaced")
    alerts = sub.add_parser("alerts", help="benchmark live alerts: matching and delivery (bench/alerts.py)")
    alerts.add_argument("--out", type=Path, default=RESULTS, help="file whose alerts section is replaced")
    synth = sub.add_parser("synth", help="generate (or reuse) a synthetic store and print where it is")
    synth.add_argument("n", type=int)
    synth.add_argument("--seed", type=int, default=1)
    synth.add_argument("--base", type=Path, default=DEFAULT_BASE)
    return p


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv or ["store"])
    if args.command == "synth":
        store, reused = ensure_store(args.n, seed=args.seed, base=args.base)
        print(f"{store.content} ({'reused' if reused else f'generated in {store.seconds:.1f} s'})")
        return 0
    if args.command == "alerts":
        from bench import alerts as alert_bench

        return alert_bench.main(args.out)
    if args.command == "digests":
        from bench import digests as digest_bench  # imported on demand: each benchmark stands alone

        return digest_bench.main(digest_bench.Options(size=args.size, base=args.base), args.out)
    if args.command == "feeds":
        from bench import feeds as feeds_bench

        return feeds_bench.main(args.out)
    if args.command == "follows":
        from bench import follows as follows_bench

        return follows_bench.main(args.out)
    if args.command == "roundtrip":
        from bench import roundtrip as roundtrip_bench

        roundtrip_bench.main(args.size, args.count, args.seconds, args.base)
        return 0
    if args.quick:
        opts = Options(
            sizes=(2_000,), seed=args.seed, queries=100, naive_queries=50, qps_seconds=1.0, base=args.base, quick=True
        )
        return main(opts, args.out)
    opts = Options(
        sizes=args.sizes,
        seed=args.seed,
        queries=args.queries,
        naive_queries=args.naive_queries,
        naive_sample=1 if args.naive_full else args.naive_sample,
        base=args.base,
    )
    return main(opts, args.out or RESULTS)


if __name__ == "__main__":  # spawned index workers import this module too: run only as the program
    sys.exit(run(sys.argv[1:]))
