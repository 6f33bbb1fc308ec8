"""Serve the XAPI simulator on its own, as if it were a real pool (until Ctrl-C).

    cd tests && python -m support.xapi.serve

prints the URL and the CA file; user root, password secret (pool-admin). Point
``PROVISIONER_TEST_XAPI`` and its companions at it to try the real-pool path of
the XenServer tests without a real pool (docs/testing.md), or a stack at it to
try the provider by hand.
"""

from __future__ import annotations

import argparse
import time

from .simulator import XapiSimulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--password", default="secret", help="root's password")
    parser.add_argument("--task-seconds", type=float, default=0.0,
                        help="how long each Async task takes")
    args = parser.parse_args()
    sim = XapiSimulator(users={"root": (args.password, "pool-admin")},
                        task_seconds=args.task_seconds)
    url = sim.start()
    sim.seed_lab()
    print(f"PROVISIONER_TEST_XAPI={url}", flush=True)
    print(f"PROVISIONER_TEST_XAPI_CA_FILE={sim.ca_file}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
