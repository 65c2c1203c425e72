"""Runs localstripe (a Stripe stand-in from PyPI, used by tests only) on
127.0.0.1 with its state in memory: `python scripts/run_localstripe.py PORT`.

localstripe itself binds every interface and pickles its state to a shared
file in /tmp; tests need neither, so both are switched off here.
"""
import sys

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    port = int(sys.argv[1])
    resources.store.dump_to_disk = lambda: None
    resources.store.try_load_from_disk = lambda: None
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
