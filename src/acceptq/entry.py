"""The ``acceptq`` console script.

SIGINT and SIGTERM are handled before anything slow is imported, and a
Ctrl-C that lands even earlier (while the handlers are being put in place)
is caught here: start-up is a clean exit 130, never a traceback.
"""

import sys


def _interrupted(name: str) -> None:
    try:
        print("acceptq: interrupted (%s)" % name, file=sys.stderr)
    except (KeyboardInterrupt, OSError):
        pass


def main() -> None:
    code = 130
    try:
        try:
            from acceptq import signals

            signals.install()
            from acceptq.cli import main as cli_main

            code = cli_main()
        except KeyboardInterrupt:
            _interrupted("SIGINT")
            code = 130
        except BaseException as exc:
            signum = getattr(exc, "signum", None)  # acceptq.signals.Interrupted
            if signum is None:
                raise
            _interrupted(str(exc))
            code = 128 + signum
    except KeyboardInterrupt:  # a second Ctrl-C while the first was being reported
        code = 130
    sys.exit(code)
