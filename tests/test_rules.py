"""Every rule is a well-formed step: log, benchmark, threads, memory, and a conda env holding exactly
what its script imports (conda itself cannot run here, so the imports are checked statically)."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from segval.batch import JOBS as BATCH_JOBS
from workflow_helpers import snakemake_command

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"

# Import name -> distribution name in requirements.txt and envs/*.yaml.
DISTRIBUTIONS = {
    "cv2": "opencv-python-headless",
    "yaml": "PyYAML",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "PIL": "pillow",
}
# What a distribution needs at run time without being imported by segval's code.
RUNTIME_PLUGINS = {
    "tifffile": {"imagecodecs"}
}  # tifffile's codecs (zstd, Deflate) live in imagecodecs


def rule_blocks():
    """(file, kind, name, body) of every rule and checkpoint in rules/*.smk."""
    blocks = []
    for path in sorted((REPO / "rules").glob("*.smk")):
        text = path.read_text()
        starts = [m for m in re.finditer(r"^(rule|checkpoint) (\w+):", text, flags=re.M)]
        for index, match in enumerate(starts):
            end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
            body = text[match.end() : end]
            body = re.split(r"^\S", body, maxsplit=1, flags=re.M)[
                0
            ]  # stop at the next top-level line
            blocks.append((path.name, match.group(1), match.group(2), body))
        # Rules made in a loop (rules/batch.smk): `rule:` with a `name:` directive, indented.
        starts = list(re.finditer(r"^( +)rule:\n\s+name:\n\s+(.+)\n", text, flags=re.M))
        for match in starts:
            indent = match.group(1)
            rest = text[match.end() :]
            end = re.search(rf"^(?!{indent} )\S|^{indent}\S", rest, flags=re.M)
            body = rest[: end.start()] if end else rest
            blocks.append((path.name, "rule", match.group(2).strip(), body))
    return blocks


# The steps a batch job runs (scripts/run_batch.py): those segval.batch lists for its jobs (and
# checks against the calls it builds).
BATCH_STEPS = sorted({step for steps, _ in BATCH_JOBS.values() for step in steps})


RULES = rule_blocks()


def test_batch_steps_are_step_scripts():
    assert {"plan", "denoise", "threshold", "segment", "confusion", "metrics", "overlay"} <= set(
        BATCH_STEPS
    )
    assert all((SCRIPTS / f"{step}.py").exists() for step in BATCH_STEPS)


def test_rules_were_found():
    names = {name for _, _, name, _ in RULES}
    assert {
        "plan",
        "denoise",
        "threshold",
        "segment",
        "confusion",
        "metrics",
        "overlay",
        "summary",
    } <= names


@pytest.mark.parametrize("file, kind, name, body", RULES, ids=[r[2] for r in RULES])
def test_rule_declares_log_benchmark_threads_memory_and_env(file, kind, name, body):
    for directive in (
        "log:",
        "benchmark:",
        "threads:",
        "resources:",
        "mem_mb=",
        "conda:",
        "script:",
    ):
        assert directive in body, f"{file}: {kind} {name} lacks {directive}"


def module_imports(path):
    """Top-level names imported anywhere in a file (also inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def third_party_imports(script, steps=()):
    """Distributions a script needs: its imports and those of the segval modules it uses, transitively
    (for the runners, run_batch.py and each_method.py: those of the ``steps`` it runs)."""
    seen, todo, packages = set(), [script, *(SCRIPTS / f"{step}.py" for step in steps)], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in module_imports(path):
            top = name.split(".")[0]
            if top == "segval":
                module = SCRIPTS / (name.replace(".", "/") + ".py")
                if module.exists():
                    todo.append(module)
            elif top not in sys.stdlib_module_names and top != "__future__":
                packages.add(DISTRIBUTIONS.get(top, top))
    for package in list(packages):
        packages |= RUNTIME_PLUGINS.get(package, set())
    return packages


# The conda-forge package of each distribution the steps need (conda cannot resolve here, so the names
# are checked against this table of names segval relies on), and how its version is spelled there.
CONDA_FORGE = {
    "numpy": "numpy",
    "scipy": "scipy",
    "opencv-python-headless": "opencv",  # conda-forge has one OpenCV build, without GUI toolkits
    "tifffile": "tifffile",
    "imagecodecs": "imagecodecs",
    "pillow": "pillow",
    "matplotlib": "matplotlib-base",  # matplotlib without the Qt backend
    "PyYAML": "pyyaml",
    "zarr": "zarr",
    "numcodecs": "numcodecs",
}
# Distributions that exist on PyPI only (a `pip:` section in an env is allowed for these alone).
PYPI_ONLY = set()


def conda_version(distribution, version):
    """The conda-forge version of a PyPI pin: opencv-python-headless adds a build number (5.0.0.93)."""
    return ".".join(version.split(".")[:3]) if distribution == "opencv-python-headless" else version


def env_packages(env_file):
    """{conda name: version} of an env's conda dependencies, and its pip section (a list)."""
    env = yaml.safe_load(env_file.read_text())
    assert env["channels"] == ["conda-forge", "nodefaults"], f"{env_file.name}: channels"
    pinned, pip = {}, []
    for dependency in env["dependencies"]:
        if isinstance(dependency, dict):
            pip += dependency.get("pip", [])
        elif dependency.split()[0] not in ("python", "pip"):
            name, _, version = dependency.partition(" =")
            pinned[name] = version
    return pinned, pip


def requirements():
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name] = version
    return pins


def rule_env_and_script(body):
    env = re.search(r'conda:\s*"\.\./(envs/[^"]+)"', body)
    script = re.search(r'script:\s*"\.\./(scripts/[^"]+)"', body)
    return REPO / env.group(1), REPO / script.group(1)


@pytest.mark.parametrize("file, kind, name, body", RULES, ids=[r[2] for r in RULES])
def test_env_holds_exactly_what_the_script_imports(file, kind, name, body):
    env_file, script = rule_env_and_script(body)
    steps = re.findall(r'per_method_params\(\s*"(\w+)"', body)  # scripts/each_method.py's step
    needed = third_party_imports(script, BATCH_STEPS if script.name == "run_batch.py" else steps)
    declared, pip = env_packages(env_file)
    assert all(requirement.split("==")[0] in PYPI_ONLY for requirement in pip), (
        f"{env_file.name}: pip section {pip}: use the conda-forge packages"
    )
    unknown = needed - set(CONDA_FORGE) - PYPI_ONLY
    assert not unknown, f"add the conda-forge names of {sorted(unknown)} to CONDA_FORGE"
    expected = {CONDA_FORGE[distribution]: distribution for distribution in needed - PYPI_ONLY}
    assert set(declared) == set(expected), (
        f"rule {name}: {env_file.name} declares {sorted(declared)} but {script.name} imports {sorted(needed)}"
    )
    pins = requirements()
    for conda_name, version in declared.items():
        distribution = expected[conda_name]
        assert version == conda_version(distribution, pins[distribution]), (
            f"{env_file.name}: {conda_name} ={version} differs from requirements.txt's {distribution}=={pins[distribution]}"
        )


def test_every_env_file_is_used():
    used = {rule_env_and_script(body)[0].name for _, _, _, body in RULES}
    assert used == {p.name for p in (REPO / "envs").glob("*.yaml")}


# --- what Snakemake's own process imports ------------------------------------------------------
BLOCKER = """import os, sys
BLOCKED = set(os.environ["SEGVAL_BLOCK"].split(","))
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the Snakefile must not need it")
sys.meta_path.insert(0, Blocker())
"""


def _blocking(tmp_path, *modules):
    """An environment in which importing ``modules`` fails (a sitecustomize on PYTHONPATH)."""
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    path = os.pathsep.join([str(tmp_path), str(SCRIPTS)])
    return dict(os.environ, PYTHONPATH=path, SEGVAL_BLOCK=",".join(modules))


def test_the_snakefile_imports_only_numpy_free_segval_modules(tmp_path):
    sources = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]
    imported = {
        m
        for path in sources
        for m in re.findall(r"^\s*from (segval\S*) import", path.read_text(), re.M)
    }
    assert imported and imported <= {
        "segval.spec",
        "segval.tiling",
        "segval.checks",
        "segval.errors",
        "segval.headers",
        "segval.ngff",
        "segval.pages",
        "segval.batch",
        "segval.runner",
    }, imported
    code = (
        "from segval.spec import parse_method, local_halo, chain_halo; from segval.tiling import Plan, plan; "
        "import segval.batch, segval.checks, segval.errors, segval.headers, segval.ngff, segval.pages, "
        "segval.runner; "
        "print(parse_method('sauvola:k=0.3')[0], local_halo('niblack'), chain_halo([('median', 5)]), "
        "len(plan((2, 100, 100), 64, 0.01).chunks))"
    )
    env = _blocking(tmp_path, "numpy", "cv2", "scipy")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["sauvola", "7", "2", "2"]


@pytest.mark.workflow
def test_a_dry_run_needs_no_image_libraries(tmp_path):
    """Snakemake parses the workflow and plans the demo without OpenCV, scipy, tifffile or matplotlib
    (numpy and pandas are not blocked: the SLURM executor plugin imports them itself)."""
    env = _blocking(
        tmp_path, "cv2", "scipy", "tifffile", "imagecodecs", "matplotlib", "skimage", "sklearn"
    )
    command = snakemake_command(
        tmp_path / "run", "--dry-run", "--quiet", "rules", "--cores", 1, configfile=False
    )
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "plan" in result.stdout and "blocked" not in result.stdout + result.stderr
