"""``python -m devstack.demo [--flow NAME]`` (``make demo [FLOW=NAME]``): built flows end to end.

1. starts the stack for the flows it plays (:mod:`devstack.stack`): Kafka (or the one
   named by ``MLC_KAFKA_BOOTSTRAP_SERVERS`` / ``KAFKA_BOOTSTRAP_SERVERS``), the flows'
   sandboxes, the ingest and the flows' vendor services; connects the sandbox accounts and
   links them;
2. plays each flow (every built flow of :mod:`devstack.flows`, or the one ``--flow``
   names) with its play (``PLAYS``);
3. stops what it started. Exit 0 when every step did what it should, 1 with the
   reason when one did not, 2 for an unknown flow (the message lists the built ones).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final

import httpx

from devstack import ap_bill, expenses, people_acumatica, people_freshbooks, people_zoho
from devstack.driving import DemoFailedError, note, step
from devstack.flows import Flow, UnknownFlowError, flows_named
from devstack.stack import StackError, StackInfo, StackPlan, start_stack, stop_stack
from services.runtime.store import StoreError

__all__ = ["PLAYS", "main", "play_flows"]

EXIT_UNKNOWN_FLOW = 2

# Built flow -> what its demo plays on the running stack (a test checks every one has one).
PLAYS: Final[Mapping[str, Callable[[StackInfo], Awaitable[None]]]] = {
    people_freshbooks.NAME: people_freshbooks.play,
    people_zoho.NAME: people_zoho.play,
    people_acumatica.NAME: people_acumatica.play,
    ap_bill.NAME: ap_bill.play,
    expenses.NAME: expenses.play,
}


async def play_flows(info: StackInfo, flows: Sequence[Flow]) -> None:
    """Play each flow in turn."""
    for flow in flows:
        step(f"flow {flow.name}: {flow.source} -> {flow.target}")
        await PLAYS[flow.name](info)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description=__doc__)
    parser.add_argument("--flow", help="play only this built flow (default: every built flow)")
    args = parser.parse_args(argv)
    try:
        flows = flows_named(None if args.flow is None else [args.flow])
    except UnknownFlowError as exc:
        print(f"make demo: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN_FLOW
    plan = StackPlan.for_demo(os.environ, [flow.name for flow in flows])
    step(
        f"playing {', '.join(flow.name for flow in flows)}; "
        f"starting the stack (logs in {plan.run_dir / 'logs'})"
    )
    try:
        info = asyncio.run(start_stack(plan, step))
        asyncio.run(play_flows(info, flows))
    except (DemoFailedError, StackError, StoreError, TimeoutError, httpx.HTTPError, OSError) as exc:
        print(f"\nDEMO FAILED: {exc}\n(logs: {plan.run_dir / 'logs'})", flush=True)
        return 1
    finally:
        step("stopping the stack")
        stop_stack(plan, note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
