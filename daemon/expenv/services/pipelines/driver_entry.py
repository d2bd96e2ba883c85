"""The driver process's entry (`python -m expenv.services.pipelines.driver_entry STATE RUN
[--held [--follow CONTAINER LOG]]`): a held driver waits for its submitter, and when the submitter
started the first step's container (TRIED) it follows that container's log at once, before it
imports the driver and the docker SDK (tenths of a second of CPU that would delay the step's first
log line); then the driver runs (driver.main), adopting that follower.

Only the standard library and engine_logs are imported before the log is followed.
"""

from __future__ import annotations

import os
import sys

TRIED, HELD, FOLLOW = b"tried", "--held", "--follow"


def main(argv: list[str]) -> int:
    told = follower = None
    if HELD in argv:
        # Blocks until the submitter closes our stdin: once it tried to start the step, or at once
        # when it dies (the kernel closes the pipe then): no polling, and no time limit of ours.
        told = sys.stdin.buffer.read()
        with open(os.devnull, "rb") as devnull:   # nothing else reads the submitter's pipe
            os.dup2(devnull.fileno(), 0)
        if told == TRIED and FOLLOW in argv:
            from expenv.services.pipelines.engine_logs import follow

            at = argv.index(FOLLOW)
            follower = follow(argv[at + 1], argv[at + 2])
    from expenv.services.pipelines import driver

    return driver.main(argv[:2], told=told, follower=follower)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
