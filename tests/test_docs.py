"""The documentation stays true to the code: every option of the schema is described in
config/README.md, and the README's two commands exist."""

import re
from pathlib import Path

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
        assert re.search(rf"^{target}:", makefile, flags=re.M), f"make {target} is in the README but not the Makefile"
    assert "make demo" in readme and "make test" in readme
