"""segval the library installs with pip (for notebooks and other tools), and the project says how it
may be reused and cited."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def _source_copy(tmp_path):
    """What `pip install .` reads, copied, so that the build leaves nothing in the checkout."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "scripts" / "segval",
        source / "scripts" / "segval",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return source


def _import_segval(site, code, cwd):
    """Run ``code`` with ``site`` as a site directory (its .pth files count, as in a venv)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = f"import site; site.addsitedir({str(site)!r}); {code}"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize("editable", [False, True], ids=["install", "editable"])
def test_pip_installs_the_library(tmp_path, editable):
    source = _source_copy(tmp_path)
    target = tmp_path / "site"
    args = (
        ["--prefix", str(target), "-e", str(source)]
        if editable
        else ["--target", str(target), str(source)]
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    site = next(target.rglob("site-packages")) if editable else target
    # A notebook elsewhere imports it without a sys.path line, and gets the KESM figures' code.
    code = (
        "import segval, segval.metrics as m; import numpy as np; "
        "c = m.confusion_counts(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool)); "
        "print(segval.__file__, segval.__version__, c)"
    )
    out = _import_segval(site, code, cwd=tmp_path)
    installed = source / "scripts" / "segval" if editable else target / "segval"
    assert out.startswith(str(installed / "__init__.py")), out
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" in version["dynamic"] and " 0." in out


def test_licence_and_citation_agree():
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert project["license"] == citation["license"] == "MIT"
    assert citation["cff-version"] == "1.2.0" and citation["title"].startswith("segval")
    from segval import __version__

    assert citation["version"] == __version__
    # The data set and the method whose published figures the workflow test reproduces are cited.
    titles = " ".join(reference["title"] for reference in citation["references"])
    assert "KESM" in titles and "threshold selection method" in titles
    for reference in citation["references"]:
        assert reference["type"] in {"article", "data", "software"} and reference["authors"], (
            reference
        )
