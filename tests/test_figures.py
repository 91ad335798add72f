"""The report's plots and tables as a reader meets them, on a made-up run: every step its
own labelled tick, whole-number axes, "no loss" said rather than drawn, per-step deltas in
step order, runs told apart by what differs, and one name per check in a step."""
import pandas as pd
import pytest

from harness import SingleSwitch, figures
from harness.errors import HarnessError
from harness.plan import Plan
from harness.results import COLUMNS, Run, table_frame

STEPS = ["add NORMAL flow to every switch in the network", "h1 ping h2 and wait for ARP to settle"]


def made_up_run(parameters=None, datapath="user", loss=0.0):
    """A run of two steps: one NORMAL flow counting 0 then 8 packets, one port, one ping."""
    def rows(**per_step):
        return [{"run_id": "r", "step_index": index + 1, "step": step, **{key: values[index] for key, values
                                                                            in per_step.items()}}
                for index, step in enumerate(STEPS)]
    tables = {name: table_frame(name, []) for name in COLUMNS}
    tables["flows"] = table_frame("flows", rows(switch=["s1"] * 2, table=[0, 0], priority=[32768] * 2, cookie=[0, 0],
                                                match=["", ""], actions=["NORMAL"] * 2, n_packets=[0, 8],
                                                n_bytes=[0, 560], duration=[1.0, 2.0]))
    tables["ports"] = table_frame("ports", rows(switch=["s1"] * 2, port=[1, 1], port_name=["s1-eth1"] * 2,
                                                rx_packets=[0, 4], tx_packets=[0, 4], rx_bytes=[0, 280],
                                                tx_bytes=[0, 280], rx_drops=[0, 0], tx_drops=[0, 0],
                                                rx_errors=[0, 0], tx_errors=[0, 0]))
    tables["pings"] = table_frame("pings", rows(src=["h1"] * 2, dst=["h2"] * 2, sent=[2, 2], received=[2, 2],
                                                loss=[loss, 0.0], rtt_min=[0.1] * 2, rtt_avg=[0.2] * 2,
                                                rtt_max=[0.3] * 2, rtt_mdev=[0.0] * 2, rtt_first=[0.3] * 2))
    metadata = {"experiment": "normal_mode", "run_id": "20261126-000000-abcd", "datapath": {"type": datapath},
                "flows": "ofctl", "parameters": parameters or {"count": 2, "static_arp": False}}
    return Run(path=None, metadata=metadata, **tables)


def tick_labels(ax):
    return [label.get_text().replace("\n", " ") for label in ax.get_xticklabels()]


def test_every_step_has_its_own_readable_tick_on_the_flow_plot():
    figure = figures.flow_counters(made_up_run())
    [ax] = figure.axes
    assert tick_labels(ax) == STEPS
    assert all(len(line) <= figures.LABEL_WIDTH for label in ax.get_xticklabels()
               for line in label.get_text().splitlines())
    assert all(tick == int(tick) for tick in ax.get_yticks())
    assert ax.get_title() == "flow counters" and ax.get_ylabel() == "n_packets"


def test_port_plots_label_every_step_and_ping_plots_every_ping():
    ports = figures.port_counters(made_up_run())
    assert [tick_labels(ax) for ax in ports.axes] == [STEPS, STEPS]
    pings = figures.pings(made_up_run())
    assert tick_labels(pings.axes[0]) == [f"{step}: h1→h2" for step in STEPS]


def test_a_ping_chart_without_loss_says_so():
    assert [text.get_text() for text in figures.pings(made_up_run()).axes[0].texts] == \
        ["no loss: every echo request was answered"]
    assert len(figures.pings(made_up_run(loss=100.0)).axes[0].texts) == 0


def test_deltas_say_what_each_step_added_in_step_order_as_whole_numbers():
    deltas = made_up_run().deltas("flows")
    assert deltas["step"].tolist() == STEPS and deltas["n_packets"].tolist() == [0, 8]
    assert str(deltas["n_packets"].dtype) == "int64"
    grid = figures.step_deltas(made_up_run(), "ports")
    assert grid.columns.tolist() == STEPS and grid.loc["s1 s1-eth1"].tolist() == [0, 4]
    with pytest.raises(HarnessError, match="deltas are for flows and ports"):
        made_up_run().deltas("pings")


def test_compared_runs_are_named_by_what_differs():
    runs = [made_up_run({"count": 2, "static_arp": True}), made_up_run({"count": 2, "static_arp": False}, "kernel")]
    assert figures.distinguishing_labels(runs) == ["user, static_arp=True", "kernel, static_arp=False"]
    assert figures.distinguishing_labels([made_up_run(), made_up_run()]) == ["20261126-000000-abcd"] * 2
    figure = figures.side_by_side(runs, figures.flow_counters)
    assert [ax.get_title() for ax in figure.axes] == ["user, static_arp=True\nflow counters",
                                                      "kernel, static_arp=False\nflow counters"]


def test_two_checks_of_one_step_cannot_share_a_name():
    plan = Plan(SingleSwitch(hosts=2))
    with plan.step("twice"):
        plan.check.mac_learned("s1", "h1", port=1)
        with pytest.raises(HarnessError, match="step 'twice' has two checks named 's1 learned h1 on port 1'"):
            plan.check.mac_learned("s1", "h1", port=1, why="again")
    with plan.step("once more"):
        plan.check.mac_learned("s1", "h1", port=1)      # another step: its own names


def test_a_large_runs_mac_table_is_summarised_with_its_outliers_named():
    run = made_up_run()
    hosts = [f"h{index}" for index in range(1, 41)]
    run.metadata["hosts"] = hosts
    learned = [{"run_id": "r", "step_index": 2, "step": STEPS[1], "switch": "s1", "port": index, "port_name": "",
                "vlan": 0, "mac": f"00:00:00:00:00:{index:02x}", "host": host, "age": 0}
               for index, host in enumerate(hosts[:38], start=1)]
    run.fdb = table_frame("fdb", learned)
    summary = figures.mac_learning(run)
    assert summary.loc[(STEPS[1], "s1")].tolist() == ["38 of 40", "h39, h40"]
    assert summary.loc[(STEPS[0], "s1"), "not learned"] == "h1, h2, h3, h4, h5, h6, h7, h8 and 32 more"
    run.metadata["hosts"] = hosts[:3]
    assert figures.mac_learning(run).index.tolist() == hosts[:3]       # a grid again


def test_a_large_runs_ports_are_summed_per_switch_and_its_transcript_cut(tmp_path):
    run = made_up_run()
    many = pd.concat([run.ports.assign(port=port, port_name=f"s1-eth{port}") for port in range(1, 20)])
    run.ports = many.reset_index(drop=True)
    assert figures.step_deltas(run, "ports").index.tolist() == ["s1 (all ports)"]
    assert [line.get_label() for line in figures.port_counters(run).axes[0].get_lines()] == ["s1 (all ports)"]
    (tmp_path / "transcript.txt").write_text("x" * (figures.MOST_TRANSCRIPT_CHARS + 5))
    run.path = tmp_path
    assert f"... 5 more characters: the whole transcript is {tmp_path / 'transcript.txt'}" in \
        figures.transcript_html(run)
