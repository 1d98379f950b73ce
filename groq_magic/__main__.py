"""``python -m groq_magic``: command-line entry points.

Subcommands:

- ``run NOTEBOOK [-o OUT]``: execute a notebook in this environment's kernel,
  streaming the conversation to the terminal (:mod:`groq_magic.run`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per subcommand."""
    from groq_magic import run

    parser = argparse.ArgumentParser(
        prog="python -m groq_magic",
        description="groq_magic from the command line.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_parser = commands.add_parser(
        "run",
        help="execute a notebook, streaming the conversation to the terminal",
        description=(
            "Execute NOTEBOOK top to bottom in a kernel of this Python environment"
            " (Groq when GROQ_API_KEY is set, else the embedded local model), printing"
            " each cell and its answers as they stream, and write the executed notebook."
        ),
    )
    run.add_arguments(run_parser)
    run_parser.set_defaults(handler=run.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the subcommand; the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
