#!/usr/bin/env python
"""The one CLI of the testbed. Thin: parse, call one library function per subcommand, map errors to exits.

Exit codes: 0 ok, 1 criteria failed, 2 bad input (one line on stderr, no traceback).
Each package contributes its subcommands through ``<package>/_cli.py: register(subparsers)``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

_CLI_MODULES = ("twin._cli", "scenarios._cli", "analytics._cli", "scenarios._cli_replay",
                "scenarios._cli_report", "scenarios._cli_sweep", "scenarios._cli_check")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run_sim.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _CLI_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # our input errors carry exit_code = 2; anything else is a bug: show it
        code = getattr(exc, "exit_code", None)
        if code is None:
            raise
        print(f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return int(code)


if __name__ == "__main__":
    sys.exit(main())
