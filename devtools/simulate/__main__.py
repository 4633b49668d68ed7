"""`python -m devtools.simulate`: fly one account for N days; write sim/report.html and
sim/simulation.json; with --json, print the JSON (and nothing else) on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from devtools.simulate.driver import SimConfig


def _positive(kind: type[int] | type[float], name: str, minimum: float, maximum: float) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a {'whole ' if kind is int else ''}number, got {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{name} must be from {minimum:g} to {maximum:g}, got {text}")
        return value

    return parse


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--start must be a date such as 2026-03-01, got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m devtools.simulate",
        description="Fly Flockpilot's real jobs on a simulated clock against a synthetic X world (a model, not X).",
        epilog="Outputs: OUT/report.html (charts, violations, warnings), OUT/simulation.json (schema: devtools/simulate/README.md), "
               "OUT/jobs.log (the jobs' own log). Progress goes to stderr.")
    p.add_argument("--days", type=_positive(int, "--days", 1, 366), default=90, help="days to simulate (default 90)")
    p.add_argument("--followers", type=_positive(int, "--followers", 10, 20000), default=500, help="followers at the start (default 500)")
    p.add_argument("--following", type=_positive(int, "--following", 0, 20000), default=450, help="following at the start (default 450)")
    p.add_argument("--mode", choices=("suggest", "api"), default="suggest", help="follow and prune mode (default suggest)")
    p.add_argument("--budget", type=_positive(float, "--budget", 0, 10000), default=60.0, help="monthly X API budget in USD (default 60)")
    p.add_argument("--seed", type=_positive(int, "--seed", 0, 2**31), default=1, help="the world's random seed (default 1)")
    p.add_argument("--out", type=Path, default=Path("sim"), help="output folder (default sim/)")
    p.add_argument("--json", action="store_true", help="print the JSON summary on stdout")
    p.add_argument("--store", choices=("dynamodb", "memory"), default="dynamodb",
                   help="DynamoDB Local (default, as deployed) or the in-memory store the tests use (faster; the same "
                        "seed gives a different, equally likely flight: the world's draws follow the order the store "
                        "returns things in)")
    p.add_argument("--act-share", type=_positive(float, "--act-share", 0, 1), default=0.8,
                   help="suggest mode: share of the digest's suggestions the person acts on (default 0.8)")
    p.add_argument("--start", type=_day, default=date(2026, 3, 1), help="first simulated day (default 2026-03-01)")
    p.add_argument("--write-readme-section", type=Path, metavar="PATH",
                   help="also write the README's 'What to expect' section to PATH, its chart to docs/what-to-expect.png")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.following > args.followers * 3:
        parser().error(f"--following {args.following} is more than three times --followers {args.followers}: "
                       "not an account Flockpilot is for")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        parser().error(f"--out {out} is a file: give a folder (it is made if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser().error(f"--out {out}: cannot make the folder ({exc.strerror})")
    from devtools.simulate.driver import Simulation
    from devtools.simulate.report import write_outputs

    config = SimConfig(days=args.days, followers=args.followers, following=args.following, mode=args.mode, budget=args.budget,
                       seed=args.seed, store=args.store, start=args.start, act_share=args.act_share)
    print(f"simulating {config.days} days: {config.followers} followers, {config.following} following, {config.mode} mode, "
          f"${config.budget:g}/month, seed {config.seed}, {config.store} store", file=sys.stderr, flush=True)
    run = Simulation(config, args.out).run()
    body = write_outputs(run, args.out, readme_section=args.write_readme_section)
    s = body["summary"]
    print(f"done in {s['wall_seconds']} s: {s['final_followers']} followers, {s['final_following']} following; "
          f"${s['total_cost_usd']:.2f} in all, ${s['cost_per_30_days_usd']:.2f} per 30 days; violations: band {s['band_violations']}, "
          f"limits {s['limit_violations']}, doubles {s['double_actions']}, budget {s['budget_overruns']}; "
          f"report: {args.out / 'report.html'}", file=sys.stderr, flush=True)
    if args.json:
        json.dump(body, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
