"""`python -m chaos` (what `make chaos` runs): the fault suite on the dev stack of every
built flow, its figures written to docs/reliability.md. Exit 1 when a figure is missed."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import replace
from pathlib import Path

from chaos.postgres_store import PostgresServer, PostgresUnavailableError
from chaos.report import passed, render_markdown
from chaos.run import run_chaos
from devstack.demo import play_flows
from devstack.flows import flows_named
from devstack.ports import free_port
from devstack.stack import StackPlan, start_stack, stop_stack

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "reliability.md"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000, help="hostile requests (R4)")
    parser.add_argument("--kills", type=int, default=100, help="SIGKILLs (R1; 0: skip R1)")
    parser.add_argument("--events", type=int, default=1_000, help="events played during R1")
    parser.add_argument(
        "--outage-seconds", type=float, default=60.0, help="the broker stopped (R2; 0: skip R2)"
    )
    parser.add_argument(
        "--drops", type=int, default=50, help="times the store's sessions are dropped (R6)"
    )
    parser.add_argument(
        "--rotations", type=int, default=1_000, help="refresh-token rotations (R3; 0: no R3)"
    )
    parser.add_argument("--seed", type=int, default=1, help="the generators' seed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    options = parser.parse_args(argv)
    flows = flows_named(None)
    env = {**os.environ, "DEMO_RUN_DIR": str(ROOT / ".run" / "chaos")}
    plan = StackPlan.for_demo(env, [flow.name for flow in flows])
    outage_seconds = options.outage_seconds
    if plan.kafka_bootstrap and outage_seconds:
        _say(f"R2 skipped: it stops the stack's own broker, not {plan.kafka_bootstrap}")
        outage_seconds = 0.0
    # R2's second half and R6 need a store replicas share and that can be stopped.
    server = PostgresServer(ROOT / ".cache" / "postgres-chaos", free_port())
    store: PostgresServer | None = server
    try:
        plan = replace(plan, store_url=asyncio.run(server.start(fresh=True)))
        _say(f"the state store: PostgreSQL in {server.directory}")
    except PostgresUnavailableError as exc:
        _say(f"R2's store half and R6 skipped, no PostgreSQL: {exc}")
        store = None
    _say(f"starting the stack of every built flow (logs in {plan.run_dir / 'logs'})")
    try:
        info = asyncio.run(start_stack(plan, _say))
        _say("playing every flow once (make demo's traffic), so the log and store hold work")
        asyncio.run(play_flows(info, flows))
        result = asyncio.run(
            run_chaos(
                plan,
                info,
                requests=options.requests,
                seed=options.seed,
                say=_say,
                kills=options.kills,
                events=options.events,
                outage_seconds=outage_seconds,
                store=store,
                drops=options.drops,
                storms=options.rotations > 0,
                rotations=options.rotations,
            )
        )
    finally:
        _say("stopping the stack")
        stop_stack(plan, _say)
        if store is not None:
            asyncio.run(store.stop())
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
