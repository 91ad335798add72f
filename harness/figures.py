"""Plots and tables for the report notebooks (notebooks/*.ipynb).

Each function takes runs read by `harness.load_run` and returns something a notebook shows
in one line: a matplotlib Figure, a pandas DataFrame or Styler, or Markdown/HTML text.
Figures are closed before they are returned, so a notebook shows each exactly once: as the
value of its cell.
"""
import html
import textwrap

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from .analysis import counters

NOT_LEARNED = "-"
MOST_LINES = 12     # more lines than this in one plot: no legend, it would hide the plot
LABEL_WIDTH = 16    # characters per line of a step's label on an x axis
MOST_TRANSCRIPT_CHARS = 200_000     # of the transcript a report shows (a 254-host run's is 5 MB)


def run_label(run):
    """A short name for a run: experiment, run id and datapath."""
    meta = run.metadata
    return f"{meta['experiment']} {meta['run_id']} ({meta['datapath']['type']})"


def _facts(run):
    """{what: value} of a run that a comparison may tell runs apart by."""
    meta = run.metadata
    return {"experiment": meta["experiment"], "datapath": meta["datapath"]["type"], "flows": meta.get("flows"),
            **{name: value for name, value in meta.get("parameters", {}).items()}}


def distinguishing_labels(runs):
    """A label per run naming only what differs between the runs (`static_arp=true`,
    `kernel`); the run id where nothing but the run differs."""
    facts = [_facts(run) for run in runs]
    differing = [name for name in facts[0] if len({str(fact.get(name)) for fact in facts}) > 1]
    labels = []
    for run, fact in zip(runs, facts):
        words = [str(fact.get(name)) if name in ("experiment", "datapath", "flows")
                 else f"{name}={fact.get(name, '(none)')}" for name in differing]
        labels.append(", ".join(words) or run.metadata["run_id"])
    return labels


def _step_axis(ax, steps, positions=None):
    """One tick per step on the x axis, each labelled with its step's name, wrapped."""
    ax.set_xticks(list(positions if positions is not None else range(len(steps))))
    ax.set_xticklabels([textwrap.fill(step, LABEL_WIDTH) for step in steps], fontsize="small")


def _count_axis(ax):
    """Whole numbers only on the y axis: packets come whole."""
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _lines(ax, table, steps):
    """Plot each column of `table` (index: steps) as a line over the steps. Lines drawn later
    are thinner, so equal counts stay visible as a line inside a line."""
    count = len(table.columns)
    for order, column in enumerate(table.columns):
        ax.plot(range(len(steps)), table[column].to_numpy(), marker="o", label=column,
                linewidth=1 + 2.5 * (count - order) / count, markersize=4 + 5 * (count - order) / count)
    _step_axis(ax, steps)
    _count_axis(ax)
    if count <= MOST_LINES:
        ax.legend(fontsize="small")
    else:
        ax.text(0.01, 0.98, f"{count} lines (no legend: see the table)", transform=ax.transAxes,
                va="top", fontsize="small")


def _steps(run):
    """The run's step names in the order they ran."""
    frames = [getattr(run, name)[["step_index", "step"]]
              for name in ("flows", "fdb", "ports", "pings", "checks")]
    steps = pd.concat(frames).drop_duplicates().sort_values("step_index")
    return steps["step"].tolist()


def header(run):
    """Markdown: what ran, with which parameters, where, and how it ended."""
    meta = run.metadata
    passed = int(run.checks["passed"].sum())
    lines = [
        f"# {meta['experiment']}: {meta['outcome'].upper()}",
        f"{meta.get('summary', '')}",
        "",
        f"- **run** `{meta['run_id']}`, {meta['started']} to {meta.get('ended') or 'not recorded'}",
        f"- **checks** {passed} of {len(run.checks)} passed",
        f"- **topology** {meta.get('topology', '')}",
        f"- **datapath** {meta['datapath']['type']}: {meta['datapath']['reason']}",
        "- **parameters** " + (", ".join(f"`{k}={v}`" for k, v in meta.get("parameters", {}).items()) or "none"),
        "- **versions** " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v),
    ]
    if meta.get("error"):
        lines.append(f"- **error** `{meta['error']}`")
    for later in meta.get("later_errors", []):
        lines.append(f"- **then** `{later}`")
    if meta.get("evidence"):
        evidence = run.path / meta["evidence"]
        files = ", ".join(sorted(path.name for path in evidence.iterdir())) if evidence.is_dir() else "missing"
        lines.append(f"- **evidence** kept for debugging in `{evidence}`: {files}")
    return "\n".join(lines)


def table(frame, index=False):
    """A DataFrame as a report shows it: text columns aligned left, numbers right, the
    index hidden unless it names the rows."""
    text = [column for column in frame.columns if not pd.api.types.is_numeric_dtype(frame[column])
            or pd.api.types.is_bool_dtype(frame[column])]
    styled = frame.style if index else frame.style.hide(axis="index")
    return styled.set_properties(subset=text, **{"text-align": "left"}) \
        .set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])


def checks_table(run):
    """The checks, with failed ones in red and passed ones in green."""
    return table(run.checks[["step", "name", "expected", "observed", "passed", "description"]]).map(
        lambda passed: f"background-color: {'#c8e6c9' if passed else '#ffcdd2'}", subset=["passed"])


def hops(run):
    """The journey of a packet, hop by hop (the checks stated with lab.check.crossed): per
    step and hop, in the order stated, the counter that saw the request and the reply, how
    many each counted against how many were expected. Empty if the run has no hop."""
    crossed = run.checks[run.checks["hop"].fillna("") != ""] if "hop" in run.checks else run.checks.iloc[0:0]
    rows = {}
    for check in crossed.itertuples(index=False):
        row = rows.setdefault((check.step, check.hop), {"step": check.step, "hop": check.hop})
        counter = check.name.partition(": ")[2]
        row[f"{check.direction}: counter"] = counter
        row[f"{check.direction}: counted"] = f"{check.observed} of {check.expected}" + ("" if check.passed else " ✗")
    columns = ["step", "hop"] + [f"{direction}: {what}" for direction in ("request", "reply")
                                 for what in ("counter", "counted")]
    return pd.DataFrame(list(rows.values()), columns=columns).fillna("")


def iptables_deltas(run):
    """What each step added to each iptables rule's packet counter, for the rules that
    counted something: a table of (node, table, chain, rule) × step."""
    rules = run.iptables
    if rules.empty:
        return rules
    keys = ["node", "table", "chain", "rule"]
    ordered = rules.sort_values("step_index", kind="stable")
    grown = ordered.groupby(keys, sort=False)["packets"].diff().fillna(ordered["packets"])
    grid = ordered.assign(packets=grown).pivot_table(index=keys, columns="step", values="packets", aggfunc="sum")
    grid = grid.reindex(columns=[step for step in _steps(run) if step in grid.columns]).astype("Int64")
    return grid[grid.sum(axis=1) > 0]


def _flow_name(flow):
    match = f"priority={flow['priority']}" + (f",{flow['match']}" if flow["match"] else "")
    return f"{flow['switch']} {match} → {flow['actions']}"


def _finished(figure):
    figure.tight_layout()
    plt.close(figure)
    return figure


def flow_counters(run, ax=None):
    """n_packets of every flow after every step, one line per flow labelled with its match
    and actions. Returns the Figure (None if the run never had a flow)."""
    if run.flows.empty:
        return None
    flows = run.flows.assign(flow=run.flows.apply(_flow_name, axis=1))
    table = flows.pivot_table(index="step", columns="flow", values="n_packets", aggfunc="sum")
    steps = [step for step in _steps(run) if step in table.index]
    figure, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 3.5))
    _lines(ax, table.reindex(steps), steps)
    ax.set(title="flow counters", xlabel="after step", ylabel="n_packets")
    return _finished(figure)


def step_deltas(run, table="flows"):
    """What each step added to each counter of `table` (flows or ports): a table of item
    × step (see Run.deltas)."""
    deltas = run.deltas(table)
    if deltas.empty:
        return deltas
    if table == "flows":
        item, value = deltas.apply(_flow_name, axis=1), "n_packets"
    else:
        item, value = _port_labels(deltas), "rx_packets"
    grid = deltas.assign(item=item).pivot_table(index="item", columns="step", values=value, aggfunc="sum")
    return grid.reindex(columns=[step for step in _steps(run) if step in grid.columns]).astype("Int64")


MOST_GRID_HOSTS = 32     # more hosts than this: the MAC table is summarised, not gridded


def mac_learning(run):
    """The MAC learning table as a reader can take it in: the host × step grid (mac_grid)
    for up to MOST_GRID_HOSTS hosts; for more, per step and switch, how many hosts it had
    learned and which it had not (the outliers, the first few named)."""
    hosts = run.metadata.get("hosts") or sorted(set(run.fdb["host"]) - {""})
    if len(hosts) <= MOST_GRID_HOSTS:
        return mac_grid(run)
    rows = []
    for (index, step, switch), ports in run.ports.groupby(["step_index", "step", "switch"], sort=True):
        entries = run.fdb[(run.fdb["step_index"] == index) & (run.fdb["switch"] == switch)]
        missing = [host for host in hosts if host not in set(entries["host"])]
        named = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        rows.append({"step": step, "switch": switch, "learned": f"{len(hosts) - len(missing)} of {len(hosts)}",
                     "not learned": named or "none"})
    return pd.DataFrame(rows).set_index(["step", "switch"])


def mac_grid(run):
    """Host × step: the switch port each host's MAC was learned on after each step, or "-"."""
    hosts = run.fdb[run.fdb["host"] != ""]
    learned = hosts.assign(where=hosts["switch"] + " port " + hosts["port"].astype(str))
    grid = learned.pivot_table(index="host", columns="step", values="where", aggfunc="first")
    return grid.reindex(index=run.metadata.get("hosts") or sorted(grid.index),
                        columns=_steps(run)).astype(object).fillna(NOT_LEARNED)


def frame_timeline(run):
    """Capture point × step: the frames each capture point saw during each step, a line per
    kind of frame ("2× echo request h1→h2", with its VLAN if tagged), in the order they came;
    "no frame" where it saw none. Returns a styled table, or None for a run without captures."""
    points = list(run.metadata.get("captures") or {})
    if not points:
        return None
    frames = run.frames.sort_values("time")
    src = frames["src"].where(frames["src"] != "", frames["src_mac"])
    dst = frames["dst"].where(frames["dst"] != "", frames["dst_mac"])
    tag = frames["vlan"].map(lambda vlan: f" (VLAN {vlan})" if vlan else "")
    labelled = frames.assign(frame=frames["kind"] + " " + src + "→" + dst + tag)
    counts = labelled.groupby(["at", "step", "frame"], sort=False).size().reset_index(name="count")
    cells = counts.assign(line=counts["count"].astype(str) + "× " + counts["frame"]) \
        .groupby(["at", "step"], sort=False)["line"].agg("\n".join).unstack("step")
    grid = cells.reindex(index=points, columns=_steps(run)).fillna("no frame")
    grid.index = [f"{point}\n({run.metadata['captures'][point]['method'].split(':')[0]})" for point in points]
    return grid.style.set_properties(**{"white-space": "pre-wrap", "text-align": "left", "vertical-align": "top"})


def pings(run, axes=None):
    """Loss (%) and RTT (ms, min/avg/max) of every ping, per step. Returns the Figure (None
    if the run pinged nothing)."""
    if run.pings.empty:
        return None
    labels = [textwrap.fill(f"{step}: {src}→{dst}", LABEL_WIDTH)
              for step, src, dst in zip(run.pings["step"], run.pings["src"], run.pings["dst"])]
    positions = range(len(labels))
    figure, (loss, rtt) = (axes[0].figure, axes) if axes is not None else plt.subplots(1, 2, figsize=(9, 3.5))
    loss.bar(positions, run.pings["loss"], color="#e57373")
    loss.set(title="ping loss", ylabel="%", ylim=(0, 105))
    if not run.pings["loss"].any():
        loss.text(0.5, 0.5, "no loss: every echo request was answered", transform=loss.transAxes,
                  ha="center", va="center")
    error = [run.pings["rtt_avg"] - run.pings["rtt_min"], run.pings["rtt_max"] - run.pings["rtt_avg"]]
    rtt.bar(positions, run.pings["rtt_avg"].fillna(0), yerr=error, color="#64b5f6", capsize=4)
    rtt.set(title="ping round trip (avg, min–max)", ylabel="ms")
    for ax in (loss, rtt):
        ax.set_xticks(list(positions))
        ax.set_xticklabels(labels, fontsize="small")
    return _finished(figure)


def _port_labels(ports):
    """A label per port row: "s1 s1-eth1" ("s1 LOCAL" for the bridge's own port), or, when
    there are more ports than MOST_LINES, "s1 (all ports)": a reader follows a dozen lines
    or rows, not 255."""
    names = ports["port_name"].where(ports["port"] != -1, "LOCAL")
    labels = ports["switch"] + " " + names
    return ports["switch"] + " (all ports)" if labels.nunique() > MOST_LINES else labels


def port_counters(run, axes=None):
    """Received and sent packets of every port after every step (of every switch, summed,
    when there are more ports than a legend can name). Returns the Figure."""
    ports = run.ports.assign(port_label=_port_labels(run.ports))
    steps = [step for step in _steps(run) if step in set(ports["step"])]
    figure, axes = (axes[0].figure, axes) if axes is not None else plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    for ax, column in zip(axes, ("rx_packets", "tx_packets")):
        table = ports.pivot_table(index="step", columns="port_label", values=column, aggfunc="sum")
        _lines(ax, table.reindex(steps), steps)
        ax.set(title=column.replace("_", " "), xlabel="after step")
    return _finished(figure)


def transcript_html(run):
    """The transcript, folded: a <details> block that opens on click. A long one (a big run's
    probes) is cut at MOST_TRANSCRIPT_CHARS, saying where the whole one is."""
    text = run.transcript
    cut = "" if len(text) <= MOST_TRANSCRIPT_CHARS else (
        f"\n... {len(text) - MOST_TRANSCRIPT_CHARS} more characters: the whole transcript is "
        f"{run.path / 'transcript.txt'}")
    return ("<details><summary><b>transcript</b>: every command sent to a switch or host</summary>"
            f"<pre>{html.escape(text[:MOST_TRANSCRIPT_CHARS] + cut)}</pre></details>")


def side_by_side(runs, plot, panels=1):
    """The same plot for each run, one column per run, rows sharing their y axis, each
    column titled with what tells its run apart.

    plot is flow_counters (one panel), pings or port_counters (two panels each)."""
    figure, axes = plt.subplots(panels, len(runs), figsize=(6 * len(runs), 3.5 * panels),
                                sharey="row", squeeze=False)
    for column, (run, label) in enumerate(zip(runs, distinguishing_labels(runs))):
        if panels == 1:
            plot(run, ax=axes[0, column])
        else:
            plot(run, axes=axes[:, column])
        axes[0, column].set_title(f"{label}\n{axes[0, column].get_title()}", fontsize="small")
    return _finished(figure)


def differences(runs):
    """What differs between runs: metadata, per-step counters, checks.

    Returns one row per differing item: what, item, then one column per run."""
    labels = [run_label(run) for run in runs]

    def described(run):
        meta = run.metadata
        facts = pd.Series({("run", "outcome"): meta["outcome"],
                           ("run", "datapath"): meta["datapath"]["type"],
                           ("run", "topology"): meta.get("topology"),
                           **{("parameter", k): str(v) for k, v in meta.get("parameters", {}).items()},
                           **{("version", k): str(v) for k, v in meta["versions"].items()}})
        counted = counters(run)
        counted.index = pd.MultiIndex.from_arrays(
            [counted.index.get_level_values("counter"),
             counted.index.get_level_values("step") + ": " + counted.index.get_level_values("item")])
        checks = run.checks.set_index(["step", "name"])
        checked = pd.Series(checks["observed"].to_numpy(), index=pd.MultiIndex.from_arrays(
            [["check observed"] * len(checks), checks.index.map(": ".join)]))
        return pd.concat([facts, counted.map("{:g}".format), checked])

    table = pd.concat([described(run) for run in runs], axis=1, keys=labels).fillna("(absent)")
    differing = table[table.nunique(axis=1) > 1]
    differing.index = differing.index.set_names(["what", "item"])
    return differing.reset_index()
