"""Kernel-datapath test VM, by hand:

    sudo .venv/bin/python -m kernel_vm build
    sudo .venv/bin/python -m kernel_vm box
    sudo .venv/bin/python -m kernel_vm run -- .venv/bin/python -m harness run normal_mode --datapath kernel

`run` boots the VM with the checkout's current source, runs the command in the project
folder there, prints its output and exits with its status. The guest writes under
/mnt/exchange, which is the --exchange folder here (a new temporary folder by default).
`box` makes the Vagrant box for libvirt from the same image and prints its path.
"""
import argparse
import sys
import tempfile

from .guest import BOOT_TIMEOUT, GuestError, run_in_guest
from .image import DEFAULT_CACHE, ImageError, build_box, build_image


def log(line):
    print(line, file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kernel_vm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default=DEFAULT_CACHE, help=f"image cache folder (default {DEFAULT_CACHE})")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build the image if it is not cached; print its folder")
    commands.add_parser("box", help="make the Vagrant box (libvirt) if it is not cached; print its path")
    run = commands.add_parser("run", help="boot the VM and run one command in it")
    run.add_argument("--exchange", help="host folder seen as /mnt/exchange in the guest")
    run.add_argument("--timeout", type=int, default=BOOT_TIMEOUT, help="seconds before the VM is killed")
    run.add_argument("argv", nargs="+", metavar="COMMAND", help="the command, after --")
    args = parser.parse_args(argv)
    try:
        if args.command == "box":
            print(build_box(args.cache, log).box)
            return 0
        image = build_image(args.cache, log)
        if args.command == "build":
            print(image.folder)
            return 0
        exchange = args.exchange or tempfile.mkdtemp(prefix="ovs-harness-vm-")
        print(f"booting the test VM (exchange folder {exchange})", file=sys.stderr)
        result, = run_in_guest(image, [args.argv], exchange, timeout=args.timeout).results
    except (ImageError, GuestError) as failure:
        print(f"kernel_vm: {failure}", file=sys.stderr)
        return 1
    print(result.output, end="")
    return result.status


if __name__ == "__main__":
    sys.exit(main())
