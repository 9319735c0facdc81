"""The solve worker process: `python -m app.booking.worker RUN_ID`.

Started by `start_solve` in its own session; it builds the app from the environment
(DATABASE_URL is passed through), runs the solve and exits."""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    """Run one queued solve to its end; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m app.booking.worker")
    parser.add_argument("run_id", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    from app import create_app
    from app.booking.runs import execute_run

    app = create_app()
    with app.app_context():
        # Its own process: a manager's stop may end it mid-solve.
        execute_run(args.run_id, exit_on_cancel=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
