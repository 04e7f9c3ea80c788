"""Record sample rooms from real federation: forks made by Synapse servers, not by hand.

Starts three Synapse homeservers (matrix-synapse from this venv) on 127.0.0.1,
named ``localhost:PORT``, each reachable from the others only through a partition
proxy (tools/federation/proxy.py: TLS with a self-signed certificate, cuts between
chosen servers). For each scenario and room version (10 and 12) it creates a
room, cuts the network, lets each side act, records what each server has
(snapshots), heals (admin API ``reset_connection``), waits until every server
reports the same forward extremities and state, fetches the room from every
server with roomscope's fetcher and writes ``sample_rooms/fed-<scenario>-v<N>.json``
(format: sample_rooms/README.md, "Recorded from real federation").

Usage:
    .venv/bin/python tools/record_federation.py --out sample_rooms/
    .venv/bin/python tools/record_federation.py --out /tmp/x --only demotion-wins --versions 12

Takes 60-90 s for all ten rooms on the 2-core development machine (the three
servers start in 4-7 s each; a scenario takes 4-12 s). Recordings differ from run to
run (keys, room IDs, times). A scenario that times out is tried once more in a new
room. Only what the scenario asks for runs: ``--only`` and ``--versions``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.sources.files import save_room  # noqa: E402
from tools.federation.harness import Federation  # noqa: E402
from tools.federation.scenarios import SCENARIOS, Recording, build_room  # noqa: E402

#: Fixed fronts when free, so server names read the same from one recording to the next.
PORTS = (18481, 18482, 18483)


def _run(fed: Federation, scenario: Any, name: str, version: str, log: Any) -> Recording:
    """One scenario; once more in a new room if the servers time out or disagree with
    the story (the failure is logged: a second failure stops the recorder)."""
    for attempt in (1, 2):
        try:
            rec: Recording = scenario(fed, version)
            return rec
        except (TimeoutError, AssertionError, RuntimeError) as exc:
            if attempt == 2:
                raise
            log(f"{name} v{version} failed ({type(exc).__name__}: {exc}); trying again")
            fed.proxy.heal()
            if not fed.nodes["hs1"].online:
                fed.start(["hs1"])
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "sample_rooms")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--versions", nargs="+", default=["10", "12"])
    parser.add_argument("--keep", action="store_true", help="keep the servers' folders")
    args = parser.parse_args(argv)
    names = [n for n in SCENARIOS if not args.only or n in args.only]
    began = time.monotonic()

    def log(text: str) -> None:
        print(f"{time.monotonic() - began:7.1f}s  {text}", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="roomscope-federation-"))
    written: list[Path] = []
    try:
        with Federation(workdir, ("hs1", "hs2", "hs3"), ports=PORTS, log=log) as fed:
            # hs3 may join after hs1 left: it gets hs1's key from hs2, as a notary.
            hs3_notary: dict[str, Any] = {
                "trusted_key_servers": [
                    {"server_name": fed.name("hs2"), "accept_keys_insecurely": True}
                ]
            }
            fed.nodes["hs3"].extra = hs3_notary
            fed.start()
            for name in names:
                _servers, scenario = SCENARIOS[name]
                for version in args.versions:
                    if not fed.nodes["hs1"].online:
                        fed.start(["hs1"])
                    t0 = time.monotonic()
                    rec = _run(fed, scenario, name, version, log)
                    room = build_room(rec)
                    path = args.out / f"fed-{name}-v{version}.json"
                    save_room(room, path)
                    written.append(path)
                    log(f"wrote {path} ({len(room.events)} events, {time.monotonic() - t0:.1f} s)")
    finally:
        if args.keep:
            log(f"servers' folders kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log(f"done: {len(written)} rooms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
