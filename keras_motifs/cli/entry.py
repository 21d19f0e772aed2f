"""The ``keras-motifs`` command-line tool: parse, run one subcommand, and turn bad input into one line.

Every subcommand validates its inputs, writes its outputs atomically and, on bad
input, prints one line ``keras-motifs: error: ...`` and exits with status 2.
"""

from __future__ import annotations

import logging
import os
import sys

from keras_motifs._runtime import GPU_SHARING_VARIABLES, ending_on_signals, import_keras_quietly, thread_environment
from keras_motifs.cli.parser import build_parser
from keras_motifs.errors import KerasMotifsError
from keras_motifs.io.files import discard_temporaries, os_error_reason


def main(argv: list[str] | None = None) -> int:
    """Run the command-line tool; return its exit status. SIGINT and SIGTERM end the process (exit 130, 143)."""
    with ending_on_signals(discard_temporaries) as ending:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command == "run":
            ending.note += "; run the same command again to continue"
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s: %(message)s"
        )
        logging.getLogger("keras_motifs").setLevel(logging.INFO)
        if args.threads:
            os.environ.update(thread_environment(args.threads))
        for name, value in GPU_SHARING_VARIABLES.items():  # processes on one GPU share its memory
            os.environ.setdefault(name, value)
        try:
            if getattr(args, "uses_keras", False) and not args.verbose:
                import_keras_quietly()
            if getattr(args, "imports", None):
                from keras_motifs.usercode import import_user_code

                import_user_code(args.imports)
            args.handler(args)
        except KerasMotifsError as err:
            print(f"keras-motifs: error: {err}", file=sys.stderr)
            return 2
        except OSError as err:  # a disk or permission problem away from the outputs: one line, no traceback
            where = f"{err.filename}: " if err.filename else ""
            print(f"keras-motifs: error: {where}{os_error_reason(err)}", file=sys.stderr)
            return 2
    return 0
