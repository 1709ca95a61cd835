"""The documentation stays true to the code: every option of the schema is described in
config/README.md, the README's two commands exist, and its notebook example runs."""

import contextlib
import io
import os
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def option_names(schema, prefix=""):
    for name, spec in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        children = spec.get("properties")
        if children and name not in ("colours", "phantoms"):
            yield from option_names(spec, f"{path}.")
        else:
            yield path


def test_every_config_option_is_documented():
    schema = yaml.safe_load((REPO / "config/schemas/config.schema.yaml").read_text())
    documented = (REPO / "config/README.md").read_text()
    missing = [name for name in option_names(schema) if f"`{name}`" not in documented]
    assert not missing, f"options missing from config/README.md: {missing}"


def test_every_sample_sheet_column_is_documented():
    schema = yaml.safe_load((REPO / "config/schemas/samples.schema.yaml").read_text())
    documented = (REPO / "config/README.md").read_text()
    missing = [name for name in schema["properties"] if f"`{name}`" not in documented]
    assert not missing and "`prediction_<label>`" in documented, missing


def test_readme_commands_exist():
    readme = (REPO / "README.md").read_text()
    makefile = (REPO / "Makefile").read_text()
    for target in re.findall(r"^make (\w[\w-]*)", readme, flags=re.M):
        assert re.search(rf"^{target}:", makefile, flags=re.M), (
            f"make {target} is in the README but not the Makefile"
        )
    assert "make demo" in readme and "make test" in readme


def test_readme_notebook_reproduces_the_kesm_figures():
    """The README's notebook snippet runs as written and prints the article's figures."""
    if not (REPO.parent / "shared/data/kesm/grayscale.png").is_file():
        pytest.skip(
            "KESM tile not present in ../shared/data/kesm (the shared folder beside the checkout)"
        )
    section = (REPO / "README.md").read_text().split("## The library in a notebook", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    expected = code.strip().splitlines()[-1].lstrip("# ")
    printed = io.StringIO()
    cwd = Path.cwd()
    try:
        os.chdir(REPO)
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert printed.getvalue().strip() == expected
