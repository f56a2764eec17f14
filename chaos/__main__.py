"""`python -m chaos` (what `make chaos` runs): the fault suite on the dev stack of every
built flow, its figures written to docs/reliability.md. Exit 1 when a figure is missed."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from chaos.report import passed, render_markdown
from chaos.run import run_chaos
from devstack.demo import play_flows
from devstack.flows import flows_named
from devstack.stack import StackPlan, start_stack, stop_stack

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "reliability.md"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000, help="hostile requests (R4)")
    parser.add_argument("--seed", type=int, default=1, help="the generator's seed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    options = parser.parse_args(argv)
    flows = flows_named(None)
    env = {**os.environ, "DEMO_RUN_DIR": str(ROOT / ".run" / "chaos")}
    plan = StackPlan.for_demo(env, [flow.name for flow in flows])
    _say(f"starting the stack of every built flow (logs in {plan.run_dir / 'logs'})")
    try:
        info = asyncio.run(start_stack(plan, _say))
        _say("playing every flow once (make demo's traffic), so the log and store hold work")
        asyncio.run(play_flows(info, flows))
        result = asyncio.run(
            run_chaos(plan, info, requests=options.requests, seed=options.seed, say=_say)
        )
    finally:
        _say("stopping the stack")
        stop_stack(plan, _say)
    command = (
        "make chaos"
        if argv is None and not sys.argv[1:]
        else f"python -m chaos {' '.join(sys.argv[1:])}"
    )
    options.output.write_text(
        render_markdown(result, command=command, requests=options.requests, seed=options.seed),
        encoding="utf-8",
    )
    verdicts = passed(result)
    _say(
        f"written {options.output}: "
        + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in verdicts.items())
    )
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
