"""Analysing runs read back by harness.results.load_run: per-step counters, flooding,
and how counters varied over repeated runs."""
import pandas as pd


# The per-step counters a run records: table -> (columns naming the item, counter columns).
COUNTERS = {
    "flows": (["switch", "table", "priority", "match", "actions"], ["n_packets", "n_bytes"]),
    "ports": (["switch", "port_name"], ["rx_packets", "tx_packets", "rx_bytes", "tx_bytes"]),
}


def counters(run):
    """Every per-step packet and byte counter of a run: a Series indexed by
    (step_index, step, counter, item), e.g. (4, "h1 ping h2", "flows n_packets",
    "s1 0 32768  NORMAL": switch, table, priority, match, actions) -> 8."""
    parts = []
    for table, (keys, values) in COUNTERS.items():
        rows = getattr(run, table)
        items = rows[keys].astype(str).agg(" ".join, axis=1) if len(rows) else []
        for value in values:
            index = pd.MultiIndex.from_arrays(
                [rows["step_index"], rows["step"], [f"{table} {value}"] * len(rows), items],
                names=["step_index", "step", "counter", "item"])
            parts.append(pd.Series(rows[value].to_numpy(), index=index, dtype="float64"))
    return pd.concat(parts)


def flooding(run):
    """Frames into and out of each switch during each step (the growth of its ports'
    rx_packets and tx_packets), and out - in: the extra copies flooding made, less what the
    switch dropped. One row per step and switch."""
    totals = run.ports.groupby(["step_index", "step", "switch"])[["rx_packets", "tx_packets"]].sum()
    growth = totals.groupby(level="switch").diff().fillna(totals).astype("int64")
    growth.columns = ["frames in", "frames out"]
    growth["out - in"] = growth["frames out"] - growth["frames in"]
    return growth.reset_index()


def counter_spread(runs):
    """How each per-step counter varied over repeated runs: one row per counter with
    runs (how many had it), min, max and variance; sorted by step."""
    table = pd.concat([counters(run) for run in runs], axis=1)
    spread = pd.DataFrame({"runs": table.notna().sum(axis=1), "min": table.min(axis=1),
                           "max": table.max(axis=1), "variance": table.var(axis=1, ddof=0)})
    return spread.sort_index(level="step_index").reset_index()
