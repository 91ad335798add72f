"""Starts one controller app as ryu-manager would (os-ken has no such command):

    python -m controllers.launch controllers.flow_installer --openflow-port 6653 --control-port 6700

The app listens for switches on 127.0.0.1 and logs to standard output."""
import argparse
import logging
import sys

from controllers.ryu_api import FRAMEWORK, app_manager, cfg


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", help="the app's module, e.g. controllers.learning_switch")
    parser.add_argument("--openflow-port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import controllers.harness_control  # noqa: F401  (registers --harness-control-port)
    cfg.CONF(args=["--ofp-listen-host", "127.0.0.1", "--ofp-tcp-listen-port", str(args.openflow_port),
                   "--harness-control-port", str(args.control_port)], project=FRAMEWORK)
    logging.getLogger("launch").info("starting %s on %s", args.app, FRAMEWORK)
    app_manager.AppManager.run_apps([args.app])


if __name__ == "__main__":
    main()
