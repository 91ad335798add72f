"""Reports: the real notebook executed on a real kernel, on real runs, exported to HTML."""
import re
from pathlib import Path

import pytest

from conftest import TEST_EXPERIMENTS, harness
from harness import load_run

pytestmark = pytest.mark.network     # real Mininet and OVS, as root


def html_of(path):
    return Path(path).read_text()


def images(html):
    return re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,', html)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """A passing normal_priority run and a failing run, each reported once, and compared."""
    results = tmp_path_factory.mktemp("results")
    passing = harness("run", "normal_priority", "-p", "count=1", "--report", "--results-dir", results)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    failing = harness("run", TEST_EXPERIMENTS / "failing_check.py", "--results-dir", results)
    assert failing.returncode == 1
    failed_folder = failing.stdout.splitlines()[-1]
    failed_report = harness("report", failed_folder, "--results-dir", results)
    assert failed_report.returncode == 0, failed_report.stderr
    compared = harness("report", "--compare", passing.stdout.splitlines()[-1], failed_folder,
                       "--results-dir", results)
    assert compared.returncode == 0, compared.stderr
    return {"passing": Path(passing.stdout.splitlines()[-1]), "failing": Path(failed_folder),
            "failing html": Path(failed_report.stdout.strip()), "compare": Path(compared.stdout.strip())}


def test_run_with_report_writes_executed_notebook_and_html(reports):
    folder = reports["passing"]
    assert (folder / "report.ipynb").exists() and (folder / "report.html").exists()
    import nbformat
    notebook = nbformat.read(folder / "report.ipynb", as_version=4)
    assert not [output for cell in notebook.cells for output in cell.get("outputs", [])
                if output.get("output_type") == "error"]


def test_report_shows_header_checks_and_parameters(reports):
    html = html_of(reports["passing"] / "report.html")
    run = load_run(reports["passing"])
    assert "normal_priority: PASSED" in html
    assert "<code>count=1</code>" in html and "<code>target=h3</code>" in html
    for name in run.checks["name"]:
        assert name.replace(">", "&gt;") in html
    assert "datapath" in html and run.metadata["versions"]["ovs"] in html


def test_report_has_one_image_per_plot(reports):
    assert images(html_of(reports["passing"] / "report.html")) == ["Flow counters", "Pings", "Port counters"]


def test_report_shows_the_mac_grid_traces_and_folded_transcript(reports):
    html = html_of(reports["passing"] / "report.html")
    assert "s1 port 3" in html                              # h3 learned in the last step
    assert "h1 &gt; h3 echo request" in html                 # the traces table
    assert "<details><summary><b>transcript</b>" in html
    assert "mininet&gt; sh ovs-ofctl add-flow s1 action=normal" in html


def test_reports_render_without_a_network(reports):
    for path in (reports["passing"] / "report.html", reports["compare"]):
        html = html_of(path)
        assert not re.findall(r'(?:src|href)=["\']?https?://', html)
        assert "<script" not in html and "import(\"http" not in html


def test_failing_run_report_shows_the_failed_check(reports):
    html = html_of(reports["failing html"])
    assert "failing_check: FAILED" in html
    assert "1 of 2 passed" in html
    row = re.search(r"<tr>(?:(?!</tr>).)*s1 learned h3 on port 3(?:(?!</tr>).)*</tr>", html, re.S)
    assert row and "False" in row.group(0) and "#ffcdd2" in html
    # It points at the evidence the failed run kept.
    assert f"<strong>evidence</strong> kept for debugging in <code>{reports['failing'] / 'evidence'}</code>" in html
    assert "s1.dump-flows.txt" in html and "ovs-vswitchd.log" in html


def test_comparison_lists_what_differs(reports):
    html = html_of(reports["compare"])
    assert "What differs" in html
    assert "outcome" in html and "passed" in html and "failed" in html
    assert images(html) == ["Flow counters, side by side", "Pings, side by side", "Port counters, side by side"]


def test_a_notebook_that_fails_is_one_clear_error_and_kept_for_reading(reports, tmp_path):
    import shutil
    broken = tmp_path / "results" / "normal_priority" / reports["passing"].name
    shutil.copytree(reports["passing"], broken, ignore=shutil.ignore_patterns("report.*"))
    (broken / "flows.parquet").write_text("not parquet")
    process = harness("report", broken, "--results-dir", tmp_path / "results")
    assert process.returncode == 2
    assert process.stderr.startswith("error: the report notebook failed in cell")
    assert f"(the executed notebook: {broken / 'report.failed.ipynb'})" in process.stderr
    kept = (broken / "report.failed.ipynb").read_text()
    assert '"output_type": "error"' in kept     # the error, in the cell that raised it
    assert not (broken / "report.ipynb").exists() and not list(broken.glob(".*partial*"))


def test_what_the_kernel_logs_stays_off_the_users_terminal(tmp_path, monkeypatch, capfd):
    """The kernel inherits our stderr. What it logs there (at shutdown, jupyter_client's interrupt
    landing in a message handler is logged at ERROR) would come before our one error line."""
    import nbformat
    from harness import report
    from harness.errors import HarnessError
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("run = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("get_ipython().kernel.log.error('kernel noise')\nraise ValueError('broken')")],
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
    nbformat.write(notebook, tmp_path / "noisy.ipynb")
    monkeypatch.setattr(report, "TEMPLATES", tmp_path)
    with pytest.raises(HarnessError, match="ValueError: broken"):
        report.execute("noisy.ipynb", tmp_path, "noisy", {"run": "x"})
    assert "kernel noise" not in capfd.readouterr().err
