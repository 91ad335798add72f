"""The command line: `python -m harness list|describe|run|runs|show|report|clean|doctor`.

Exit status: 0 when every check passed, 1 when a check failed, 2 for a usage or environment
error (printed as one line), 130 when interrupted.
"""
import argparse
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.rule import Rule
from rich.table import Table

from .errors import HarnessError, Interrupted
from .files import write_atomically
from .interrupts import Interrupts
from .results import (COLUMNS, default_results_dir, find_run, load_run, table_frame,
                      read_metadata, run_folders)

EXIT_STATUS = {"passed": 0, "failed": 1, "no checks": 1, "error": 2, "interrupted": 130}
# What `show` prints of each table, step by step; `show --csv TABLE` gives every column.
SHOWN_COLUMNS = {
    "pings": ["src", "dst", "sent", "received", "loss", "rtt_first", "rtt_avg"],
    "traces": ["switch", "packet", "priority", "match", "actions"],
    "controller_fdb": ["switch", "port", "port_name", "mac", "host"],
    "flows": ["switch", "table", "priority", "match", "actions", "n_packets", "n_bytes"],
    "fdb": ["switch", "port", "port_name", "mac", "host"],
    "ports": ["switch", "port_name", "rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
              "rx_drops", "tx_drops"],
}
# On a terminal, tables fit its width; piped, nothing is wrapped or cut: a line is as long as
# its content, so `grep` and scripts see whole names and paths.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 100_000)
RULE_WIDTH = 100     # a heading line's width when the output is not a terminal


def heading(title):
    """Print a heading line (a rule with `title`), as wide as the terminal, or RULE_WIDTH."""
    if sys.stdout.isatty():
        console.rule(title, align="left")
    else:
        console.print(Rule(title, align="left"), width=RULE_WIDTH)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit 2."""

    def error(self, message):
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _table(title, rows, columns):
    """Return a rich Table of the given columns of a DataFrame."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows[columns].itertuples(index=False):
        table.add_row(*("" if value is None else str(value) for value in row))
    return table


def _checks_table(checks):
    table = Table(title="checks", title_justify="left")
    for column in ("step", "check", "expected", "observed", ""):
        table.add_column(column, overflow="fold")
    for check in checks.itertuples(index=False):
        mark = "[green]PASS[/]" if check.passed else "[red]FAIL[/]"
        # A failed check also says why it should have held: the blog's explanation.
        name = escape(check.name)
        if not check.passed:
            name += f"\n[dim]why: {escape(check.description)}[/]"
        table.add_row(check.step, name, check.expected, check.observed, mark)
    return table


def _print_step(index, name, tables):
    """Print one step's pings, flows, MAC table, ports and traces (DataFrames by table name)."""
    heading(f"step {index}: {name}")
    for table, columns in SHOWN_COLUMNS.items():
        if len(tables[table]):
            console.print(_table(table, tables[table], columns))


def pause_in_mininet_cli(step, rows, network):
    """Show the step's snapshot, then open Mininet's CLI until the user types exit (next
    step) or quit / Ctrl-D (end the run, tearing everything down)."""
    from mininet.cli import CLI

    class StepCLI(CLI):
        """Mininet's CLI between two steps."""
        quit_requested = False

        def do_quit(self, _line):
            """End the run (the network is torn down and the results kept)."""
            self.quit_requested = True
            return "quit"

        def do_EOF(self, line):
            """Ctrl-D: end the run, as quit does."""
            print()
            return self.do_quit(line)

    _print_step(step.index, step.name, {name: table_frame(name, rows[name]) for name in SHOWN_COLUMNS})
    console.print("[bold]mininet CLI[/]: look around as in the blog (`sh ovs-ofctl dump-flows s1`, "
                  "`h1 ping h2`); `exit` goes on to the next step, `quit` or Ctrl-D ends the run")
    cli = StepCLI(network.net)
    if cli.quit_requested:
        raise Interrupted(f"quit in the Mininet CLI after step {step.index}")


def _summarise_repeats(experiment, paths, results_dir):
    """Print how every per-step counter varied over repeated runs, and save it as CSV."""
    from .analysis import counter_spread    # pandas: see cmd_show
    spread = counter_spread([load_run(path) for path in paths])
    varying = spread[spread["variance"] > 0]
    heading(f"{len(paths)} runs of {experiment.name}")
    if varying.empty:
        console.print(f"[green]all {len(spread)} per-step counters are identical in the {len(paths)} runs[/]")
    else:
        console.print(_table(f"{len(varying)} of {len(spread)} per-step counters varied", varying,
                             ["step", "counter", "item", "min", "max", "variance"]))
    summary = Path(results_dir) / experiment.name / "repeats" / f"{Path(paths[0]).name}.csv"
    summary.parent.mkdir(exist_ok=True)
    write_atomically(summary, lambda partial: spread.to_csv(partial, index=False))
    console.print(f"counter spread: {summary}")


def cmd_list(args):
    from .experiment import experiment_names, find_experiment
    for name in experiment_names():
        console.print(f"[bold]{name}[/]  {find_experiment(name).summary()}")
    return 0


def cmd_describe(args):
    from .experiment import check_experiment_code, experiment_from_command_line
    experiment = experiment_from_command_line(args.experiment, args.parameter)
    console.print(f"[bold]{experiment.name}[/]: {experiment.summary()}")
    console.print(f"topology: {experiment.topology}")
    table = Table(title="parameters (run ... -p name=value)", title_justify="left")
    for column in ("name", "type", "default", "allowed", "this run", "description"):
        table.add_column(column, overflow="fold")
    for name, parameter in experiment.parameters().items():
        table.add_row(name, parameter.type.__name__, str(parameter.default), parameter.allowed(),
                      str(getattr(experiment, name)), parameter.description)
    console.print(table)
    index = 0
    for step, entries in check_experiment_code(experiment).steps:
        if step is None:
            heading("before the first step")
        else:
            index += 1
            heading(f"step {index}: {step}")
        for kind, text in entries:
            console.print(f"  {kind:6s} {text}")
    return 0


def cmd_run(args):
    from .experiment import experiment_from_command_line
    experiment = experiment_from_command_line(args.experiment, args.parameter)
    if args.repeat < 1:
        raise HarnessError(f"--repeat must be at least 1, not {args.repeat}")
    if args.interactive and args.repeat > 1:
        raise HarnessError("--interactive runs once: leave out --repeat")
    from .cluster import parse_placement, parse_servers
    args.servers = parse_servers(args.cluster) if args.cluster is not None else None
    args.placement = parse_placement(args.place)
    console.print(f"[bold]{experiment.name}[/]: {experiment.summary()}")
    statuses, paths = [], []
    for number in range(1, args.repeat + 1):
        if args.repeat > 1:
            heading(f"run {number} of {args.repeat}")
        status, path = _run_once(experiment, args)
        statuses.append(status)
        paths.append(path)
        if args.interrupts.received:
            break
    if len(paths) > 1:
        _summarise_repeats(experiment, paths, args.results_dir)
        print(Path(paths[-1]).parent)
    return max(statuses)


class Meter:
    """How far a long action has got: a rich progress bar on a terminal, shown only while
    the action lasts; nothing when the output is piped, where the run's progress lines say
    when each phase starts and ends."""

    def __init__(self):
        self._bar = Progress(console=console, transient=True) if console.is_terminal else None
        self._task = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._finish()

    def __call__(self, what, done, total):
        if self._bar is None:
            return
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task(what, total=total)
        self._bar.update(self._task, completed=done, description=what)
        if done >= total:
            self._finish()

    def _finish(self):
        if self._task is not None:
            self._bar.remove_task(self._task)
            self._bar.stop()
            self._task = None


def _point_at_evidence(folder, metadata):
    if metadata.get("evidence"):
        console.print(f"evidence: {Path(folder) / metadata['evidence']} (switch dumps, hosts' links "
                      "and neighbours, ovs-vswitchd's log of the run)")


def _run_once(experiment, args):
    """Run the experiment once as `run` asked; print its checks; return (exit status, folder)."""
    from .runner import run_experiment
    with Meter() as meter:
        result = run_experiment(experiment, datapath=args.datapath, results_dir=args.results_dir,
                                progress=console.print, wait=args.wait, flows=args.flows,
                                interrupts=args.interrupts, meter=meter,
                                after_step=pause_in_mininet_cli if args.interactive else None,
                                cluster=args.servers, place=args.placement)
    run = load_run(result.path)
    if len(run.checks):
        console.print(_checks_table(run.checks))
    _point_at_evidence(result.path, run.metadata)
    colour = "green" if result.outcome == "passed" else "red"
    console.print(f"[{colour}]{result.outcome}[/]" + (f": {result.error.splitlines()[-1]}" if result.error else ""))
    if args.report:
        from .report import report
        console.print(f"report: {report(result.path)}")
    print(result.path)
    return EXIT_STATUS[result.outcome], result.path


def cmd_report(args):
    from .report import compare, report
    folders = [find_run(spec, args.results_dir) for spec in args.run]
    if args.compare:
        path = compare(folders, args.results_dir)
    elif len(folders) == 1:
        path = report(folders[0])
    else:
        raise HarnessError("give one run, or several with --compare")
    print(path)
    return 0


def cmd_runs(args):
    table = Table(title=f"runs in {args.results_dir}", title_justify="left")
    table.add_column("run id", no_wrap=True)
    for column in ("experiment", "outcome", "datapath", "started", "folder"):
        table.add_column(column, overflow="fold")
    folders = run_folders(args.results_dir)
    for folder in folders:
        metadata = read_metadata(folder)
        table.add_row(metadata["run_id"], metadata["experiment"], metadata["outcome"],
                      metadata["datapath"]["type"], metadata["started"], str(folder))
    if not folders:
        console.print(f"no runs in {args.results_dir} (--results-dir, or $OVS_HARNESS_RESULTS, "
                      "says where else to look)")
        return 0
    console.print(table)
    return 0


def cmd_show(args):
    import pandas as pd     # imported by the commands that need it: a run's start-up does not
    run = load_run(find_run(args.run, args.results_dir))
    if args.csv:
        getattr(run, args.csv).to_csv(sys.stdout, index=False)
        return 0
    meta = run.metadata
    console.print(f"[bold]{meta['experiment']}[/] run {meta['run_id']}: {meta['outcome']}"
                  f" ({meta['datapath']['type']} datapath, {meta['topology']})")
    if meta.get("error"):
        console.print(f"error: {meta['error']}")
    _point_at_evidence(run.path, meta)
    tables = {name: getattr(run, name) for name in SHOWN_COLUMNS}
    steps = pd.concat([table[["step_index", "step"]] for table in tables.values()])
    for index, step in steps.drop_duplicates().sort_values("step_index").itertuples(index=False):
        _print_step(index, step, {name: table[table["step_index"] == index] for name, table in tables.items()})
    console.print(_checks_table(run.checks))
    print(run.path)
    return EXIT_STATUS.get(meta["outcome"], 2)


def cmd_clean(args):
    from .cleanup import clean
    from .environment import root_problem
    from .tools import CommandRunner
    if root_problem():
        raise HarnessError(root_problem())
    servers = ()
    if args.cluster is not None:
        from .cluster import parse_servers, resolve
        servers = [resolve(name) for name in parse_servers(args.cluster)]
        unknown = [server.name for server in servers if server.address is None]
        if unknown:
            raise HarnessError(f"--cluster: {', '.join(unknown)} does not resolve (getent ahostsv4): "
                               "add it to /etc/hosts")
    removed = clean(CommandRunner(), servers)
    for line in removed:
        console.print(f"removed {line}")
    console.print(f"clean: removed {len(removed)} thing(s) left by ovs-harness runs")
    return 0


def cmd_doctor(args):
    from .environment import doctor_report, versions
    servers = None
    if args.cluster is not None:
        from .cluster import cluster_report, parse_servers
        servers = parse_servers(args.cluster)
    table = Table(title="ovs-harness doctor", title_justify="left")
    for column in ("", "what", "found", "how to fix"):
        table.add_column(column, overflow="fold")
    rows = doctor_report()
    if servers:
        rows += cluster_report(servers, versions())
    marks = {"ok": "[green]ok[/]", "warn": "[yellow]--[/]", "fail": "[red]!![/]"}
    for what, found, status, fix in rows:
        table.add_row(marks[status], what, found, fix)
    console.print(table)
    return 2 if any(status == "fail" for _what, _found, status, _fix in rows) else 0


def build_parser():
    parser = _Parser(prog="python -m harness",
                     description="Run reproducible Open vSwitch experiments on Mininet.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("list", help="list the experiments").set_defaults(func=cmd_list)

    describe = commands.add_parser("describe", help="show an experiment's parameters, steps and checks")
    describe.set_defaults(func=cmd_describe)
    run = commands.add_parser("run", help="run an experiment")
    run.set_defaults(func=cmd_run)
    for command in (describe, run):
        command.add_argument("experiment", help="a name from `list`, or the path of an experiment .py file")
        command.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                             help="set a parameter (repeatable); see `describe`")
    run.add_argument("--datapath", choices=("auto", "kernel", "user"), default="auto",
                     help="OVS datapath: kernel where its module is usable, else userspace (auto)")

    run.add_argument("--flows", choices=("ofctl", "ryu"), default="ofctl",
                     help="install flows with ovs-ofctl (default) or FlowMods from a Ryu app on os-ken")
    run.add_argument("--report", action="store_true", help="also write the run's notebook report")
    run.add_argument("--repeat", type=int, default=1, metavar="N",
                     help="run N times and summarise how each per-step counter varied")
    run.add_argument("--wait", action="store_true",
                     help="if another run is in progress, wait for it instead of refusing")
    run.add_argument("--interactive", action="store_true",
                     help="after each step, show its snapshot and open the Mininet CLI")
    run.add_argument("--cluster", metavar="SERVER[,SERVER...]",
                     help="run across these servers with Mininet Cluster Edition (see `doctor --cluster`)")
    run.add_argument("--place", action="append", default=[], metavar="NODE=SERVER",
                     help="with --cluster: run NODE on SERVER (repeatable); the others are placed by "
                          "SwitchBinPlacer, each host with its switch")

    commands.add_parser("runs", help="list past runs").set_defaults(func=cmd_runs)

    report = commands.add_parser("report", help="execute a run's report notebook (ipynb and html)")
    report.add_argument("run", nargs="+", help="a run folder, a run id, or `latest`")
    report.add_argument("--compare", action="store_true", help="compare the runs side by side")
    report.set_defaults(func=cmd_report)

    show = commands.add_parser("show", help="show a run's tables and checks")
    show.add_argument("run", help="a run folder, a run id, or `latest`")
    show.add_argument("--csv", choices=list(COLUMNS), help="print one table as CSV instead")
    show.set_defaults(func=cmd_show)

    clean = commands.add_parser("clean", help="remove what killed runs left behind (only ours)")
    clean.add_argument("--cluster", metavar="SERVER[,SERVER...]",
                       help="also remove from these servers what runs this machine drove left there "
                            "when their state was lost (a reboot of this machine)")
    clean.set_defaults(func=cmd_clean)
    doctor = commands.add_parser("doctor", help="check this machine (and --cluster's servers) can run experiments")
    doctor.add_argument("--cluster", metavar="SERVER[,SERVER...]",
                        help="also check each server of a Mininet Cluster Edition run: ssh, sudo, "
                             "versions, Open vSwitch, modules, clock")
    doctor.set_defaults(func=cmd_doctor)
    for command in (run, commands.choices["runs"], show, report):
        command.add_argument("--results-dir", type=Path, default=None,
                             help="where run folders are kept (default: $OVS_HARNESS_RESULTS, "
                                  "else the checkout's results/)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if "results_dir" in args and args.results_dir is None:
        args.results_dir = default_results_dir()
    # Signals are the harness's own from here to the exit: while a run's steps go, the first
    # stops them (as in any other command); from its teardown on they are only recorded, so
    # the outcome a run records is the exit status, whenever the signal lands.
    args.interrupts = Interrupts().install()
    args.interrupts.raising = True
    try:
        return args.func(args)
    except HarnessError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted):
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`show --csv checks | head`): stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        args.interrupts.ignore_from_now()
