"""``python -m simulator``: run a park simulator until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from custom_components.smart_park.engine.profile import ParkProfile, ProfileError, parse_profile

from .reference import reference_profile
from .server import ParkSimulator

DEFAULT_PORT = 5020
DEFAULT_CONTROL_PORT = 8780
DEFAULT_ENTERPRISES = 40


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description="Smart Park Hub park simulator")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--enterprises", type=int, help=f"reference park size (default {DEFAULT_ENTERPRISES})"
    )
    source.add_argument("--profile", type=Path, help="park profile YAML")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        help=f"first gateway's port, further gateways +1, ... (default {DEFAULT_PORT}; "
        "with --profile the profile's ports)",
    )
    parser.add_argument(
        "--control-port", type=int, default=DEFAULT_CONTROL_PORT, help="control API port, 0 = any"
    )
    parser.add_argument(
        "--zeroconf", action=argparse.BooleanOptionalAction, default=True, help="advertise by mDNS"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tick", type=float, default=1.0, help="dynamics period in seconds")
    parser.add_argument("--no-dynamics", action="store_true", help="freeze values at their base")
    parser.add_argument(
        "--emulate-buses",
        action="store_true",
        help="serial gateways (transport serial_over_tcp or rtu) answer one request at a time at their "
        "baud rate",
    )
    return parser


def load_profile(args: argparse.Namespace) -> tuple[ParkProfile, dict[str, int]]:
    """The park and the port of each gateway."""
    if args.profile is not None:
        profile = parse_profile(args.profile.read_text(encoding="utf-8"))
    else:
        size = args.enterprises if args.enterprises is not None else DEFAULT_ENTERPRISES
        profile = parse_profile(reference_profile(size, host=args.host, base_port=args.port or DEFAULT_PORT))
    ports = {}
    if args.port is not None:
        ports = {gw: args.port + index for index, gw in enumerate(profile.gateways)}
    return profile, ports


async def run(args: argparse.Namespace) -> None:
    """Start the simulator, print where it listens, serve until cancelled."""
    profile, ports = load_profile(args)
    sim = ParkSimulator(
        profile,
        host=args.host,
        port_override=ports,
        seed=args.seed,
        dynamics=not args.no_dynamics,
        tick=args.tick,
        zeroconf=args.zeroconf,
        control_port=args.control_port,
        emulate_buses=args.emulate_buses,
        # Broadcast controllers serve their audio-URL interface (TTS), as the real ones do.
        http_audio=True,
    )
    async with sim:
        print(f"{profile.name} ({profile.id}): {len(profile.devices)} devices", flush=True)
        for gateway_id, port in sim.ports.items():
            units = sum(1 for d in profile.devices.values() if d.gateway == gateway_id)
            print(f"  gateway {gateway_id}: modbus tcp://{args.host}:{port} ({units} units)", flush=True)
        if sim.control_url:
            print(f"  control API: {sim.control_url}/api/state", flush=True)
        print(f"  zeroconf: {'_smartpark._tcp' if args.zeroconf else 'off'}; Ctrl-C to stop", flush=True)
        # SIGTERM (service managers, the demo) stops as cleanly as Ctrl-C: the zeroconf goodbye is sent.
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(args))
    except ProfileError as err:
        for issue in err.issues:
            print(issue.english(), file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
