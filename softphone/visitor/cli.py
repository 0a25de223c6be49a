"""``softphone-visitor``: call an agent from the command line and print what arrived."""

from __future__ import annotations

import argparse
import asyncio
import logging

from softphone.media.local import MediaChoice
from softphone.rtc.ice import IceSettings
from softphone.visitor.peer import VisitorConfig, VisitorPeer


def parse_args(argv: list[str] | None = None) -> VisitorConfig:
    parser = argparse.ArgumentParser(prog="softphone-visitor", description=__doc__)
    parser.add_argument(
        "--server", default="ws://127.0.0.1:8765/ws", help="signaling URL(s), comma-separated"
    )
    parser.add_argument("--site-key", default=None, help="get a visitor token for this site")
    parser.add_argument("--token", default=None, help="a visitor token the site minted")
    parser.add_argument("--name", default="Visitor")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="hang up after this many seconds of connected call",
    )
    parser.add_argument(
        "--host-candidate",
        action="append",
        default=None,
        metavar="ADDR",
        help="only gather ICE host candidates on ADDR (repeatable), "
        "e.g. 127.0.0.1 for a local server",
    )
    parser.add_argument("--camera", default="test-pattern", help="device id or test-pattern")
    parser.add_argument("--microphone", default="tone", help="device id or tone")
    args = parser.parse_args(argv)
    allowlist = tuple(args.host_candidate) if args.host_candidate else None
    return VisitorConfig(
        server_url=args.server,
        site_key=args.site_key,
        token=args.token,
        name=args.name,
        ice=IceSettings(host_allowlist=allowlist),
        media=MediaChoice(camera=args.camera, microphone=args.microphone),
        duration=args.duration,
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    visitor = VisitorPeer(parse_args(argv))
    try:
        summary = asyncio.run(visitor.run())
    except KeyboardInterrupt:
        return 130
    print(summary.format())
    return 0 if summary.passed else 1
