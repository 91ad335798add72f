"""Reports: a notebook template from notebooks/ executed on a real kernel (papermill) with a
run's folder as its parameter, saved next to the run as .ipynb and self-contained .html.

Templates are ordinary notebooks whose first cell, tagged "parameters", names the run(s);
copy one and start from `load_run(path)` to write your own.
"""
import os
from pathlib import Path

from .errors import HarnessError
from .files import write_atomically, write_text
from .results import claim_results_dir, new_run_id

TEMPLATES = Path(__file__).resolve().parent.parent / "notebooks"


def _describe_images(notebook):
    """Give every image output the heading of the section it is in as alternative text."""
    heading = "plot"
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("#"):
            heading = cell.source.splitlines()[0].lstrip("# ")
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                output.setdefault("metadata", {})["alt"] = heading


def _html(notebook_path):
    """Export an executed notebook to HTML that needs no network: images are embedded and
    nothing is loaded from a CDN (no MathJax, no require.js, no Mermaid). The page shows
    what the code made, not the code: that stays in the .ipynb beside it."""
    import nbformat
    from nbconvert import HTMLExporter
    notebook = nbformat.read(notebook_path, as_version=4)
    _describe_images(notebook)
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES / "templates")],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _resources = exporter.from_notebook_node(notebook)
    return body


def execute(template, folder, name, parameters):
    """Execute notebooks/<template> with `parameters` into folder/<name>.ipynb and .html.

    Returns the HTML's path. Raises HarnessError naming the failing cell if the notebook
    fails; the executed notebook, with the error in it, is kept as <name>.failed.ipynb."""
    import papermill
    folder = Path(folder)
    notebook, failed = folder / f"{name}.ipynb", folder / f"{name}.failed.ipynb"
    # The kernel's own log goes to our stderr, and is not the reader's business: a cell's error
    # comes back in the notebook. CRITICAL, not ERROR: jupyter_client interrupts a kernel before
    # shutting it down, and a SIGINT landing in a message handler is logged at ERROR.
    try:
        write_atomically(notebook, lambda partial: papermill.execute_notebook(
            str(TEMPLATES / template), str(partial), parameters=parameters, kernel_name="python3",
            progress_bar=False, cwd=os.getcwd(), log_output=False,
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"]), failed_path=failed)
    except papermill.PapermillExecutionError as failure:
        raise HarnessError(f"the report notebook failed in cell {failure.exec_count}: "
                           f"{failure.ename}: {failure.evalue} (the executed notebook: {failed})") from None
    failed.unlink(missing_ok=True)      # an earlier failure, mended since
    html = folder / f"{name}.html"
    write_text(html, _html(notebook))
    return html


def report(run_folder):
    """Write report.ipynb and report.html into the run's folder; return the HTML's path."""
    return execute("report.ipynb", run_folder, "report", {"run": str(Path(run_folder).resolve())})


def compare(run_folders, results_dir):
    """Write a comparison of the runs into <results_dir>/comparisons/<id>/; return the HTML's path."""
    if len(run_folders) < 2:
        raise HarnessError("--compare needs at least two runs")
    folder = claim_results_dir(results_dir) / "comparisons" / new_run_id()
    folder.mkdir(parents=True)
    return execute("compare.ipynb", folder, "compare",
                   {"runs": [str(Path(run).resolve()) for run in run_folders]})
