"""The HTML and Markdown review reports, the HTML one checked in a real headless Chromium."""

import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import networkx as nx
import pytest

from dagshift.ui.graph_svg import layout
from dagshift.verify.report import FileReport, render_html, render_markdown

ARTIFACTS = Path(os.environ.get("DAGSHIFT_TEST_ARTIFACTS", Path(__file__).parents[2] / "out"))
HOSTILE = (
    "# </script><script>window.pwned=1</script>\nx = '<img src=x onerror=\"window.pwned=2\">'\n"
)


def _graph():
    g = nx.DiGraph()
    g.add_edge("extract", "transform", data=["rows"])
    g.add_edge("transform", "load", data=[])
    return g


def _reports():
    before = "from airflow import DAG\n" + HOSTILE + "def f():\n    return 1\n"
    after = "from dagshift import Flow, task\n" + HOSTILE + "@task\ndef f():\n    return 1\n"
    return [
        FileReport(
            "dags/etl.py",
            "converted",
            [],
            before,
            after,
            {"etl": _graph()},
            {"etl": _graph()},
            [{"flow": "etl", "ok": True, "differences": []}],
        ),
        FileReport(
            "dags/custom.py",
            "partial",
            [
                {
                    "code": "TODO(custom-operator)",
                    "line": 7,
                    "message": "MyOperator <b>is</b> not converted",
                }
            ],
            before,
            before + "# dagshift: TODO(custom-operator)\n",
        ),
        FileReport("dags/helpers.py", "not_a_dag", [], "X = 1\n"),
        FileReport(
            "dags/broken.py",
            "failed",
            [{"code": "E999", "line": 3, "message": "syntax error: invalid syntax"}],
        ),
    ]


def test_the_html_report_escapes_every_piece_of_code():
    page = render_html(_reports())
    assert "<script>window.pwned" not in page
    assert "<img src=x" not in page
    assert "&lt;/script&gt;" in page
    assert "MyOperator &lt;b&gt;is&lt;/b&gt; not converted" in page


def test_the_html_report_loads_nothing_from_the_network():
    page = render_html(_reports())
    for marker in ("http://", "https://", 'src="//'):
        assert marker not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_the_html_report_counts_and_draws():
    page = render_html(_reports())
    assert 'data-files="4"' in page
    assert "1 converted, 1 partial, 0 unchanged, 1 not_a_dag, 1 failed" in page
    assert page.count("<svg") == 2 and ">transform</text>" in page
    assert "line 7" in page and "TODO(custom-operator)" in page


EVIL_ID = "</svg><script>window.pwned=3</script>"


class _Tags(HTMLParser):
    """What a browser's parser makes of a page: the tags it opens and the text it shows."""

    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def _parsed(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def test_hostile_task_ids_findings_and_code_show_as_text_in_the_html_report():
    g = nx.DiGraph()
    g.add_edge("extract", EVIL_ID, data=["rows"])
    code = "x = 1  # </svg><script>window.pwned=4</script>\n"
    report = FileReport(
        "dags/<script>evil.py",
        "partial",
        [{"code": "TODO(<script>)", "line": 2, "message": "</svg><script>window.pwned=5</script>"}],
        code,
        code + "y = '</svg>'\n",
        {"evil": g},
        {"evil": g},
        [{"flow": "<script>f</script>", "ok": False, "differences": [{"message": "</svg>"}]}],
        [{"task_id": EVIL_ID, "operator": "<script>Op"}],
    )
    parsed = _parsed(render_html([report]))
    assert parsed.tags.count("script") == 1  # only the report's own filter script
    assert parsed.tags.count("svg") == 2  # the picture before and after, none closed early
    text = "".join(parsed.text)
    for shown in (EVIL_ID, "window.pwned=4", "window.pwned=5", "TODO(<script>)", "<script>Op"):
        assert shown in text
    assert "dags/<script>evil.py" in text and "y = '</svg>'" in text


def test_the_html_report_draws_its_graphs_with_the_uis_layout():
    # a -> z, b -> y, c -> x in this order crosses three times; the UI's layout untangles it
    g = nx.DiGraph([("a", "z"), ("b", "y"), ("c", "x")])
    page = render_html([FileReport("dags/t.py", "converted", [], "", "x\n", {}, {"t": g})])
    lay = layout(list(g.nodes), list(g.edges))
    for task_id, (x, y) in lay.nodes.items():
        assert f'<rect x="{x}" y="{y}"' in page and f">{task_id}</text>" in page
    assert page.count('class="edge order"') == 3  # edges passing no data are drawn dashed


def test_the_html_report_is_written_without_the_ui_extra():
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('starlette', 'strawberry', 'uvicorn'):\n"
        "            raise ImportError('no ui extra: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import networkx as nx\n"
        "from dagshift.verify.report import FileReport, render_html\n"
        "g = nx.DiGraph([('a', 'b')])\n"
        "page = render_html([FileReport('d.py', 'converted', [], 'a\\n', 'b\\n', {'d': g})])\n"
        "assert not [m for m in sys.modules if m.startswith(('starlette', 'strawberry'))]\n"
        "print(page.count('<svg'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocker], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_the_markdown_report_has_summary_diff_mermaid_and_todos():
    md = render_markdown(_reports())
    assert (
        "| converted | 1 |" in md and "| `dags/custom.py` | partial | 1 | 0 | not verified |" in md
    )
    assert "```mermaid\nflowchart LR" in md and "n0 --> n1" in md and "n1 -.-> n2" in md
    assert "<details><summary>diff</summary>" in md and "+@task" in md
    assert (
        "- [ ] line 7: `TODO(custom-operator)` MyOperator &lt;b&gt;is&lt;/b&gt; not converted" in md
    )


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed (make test installs it)")
def test_the_html_report_renders_in_headless_chromium_without_errors():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = ARTIFACTS / "report.html"
    page.write_text(render_html(_reports()))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ]
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                _chromium(),
                *flags,
                f"--user-data-dir={profile}",
                "--virtual-time-budget=2000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                _chromium(),
                *flags,
                f"--user-data-dir={profile}",
                "--window-size=1280,1600",
                f"--screenshot={ARTIFACTS / 'report.png'}",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    assert 'data-ready="yes"' in dom.stdout  # the page's script ran to the end
    assert ' data-errors="' not in dom.stdout  # no uncaught error in the page
    assert "Uncaught" not in dom.stderr and "CONSOLE" not in dom.stderr
    assert dom.stdout.count("<tr data-status=") == 4  # as many files as the JSON report
    assert "<img" not in dom.stdout  # the hostile code is shown as text, not turned into tags
    assert dom.stdout.count("<script") == 1  # only the report's own filter script
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
