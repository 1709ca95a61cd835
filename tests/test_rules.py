"""Every rule is a well-formed step: log, benchmark, threads, memory, and a conda env holding exactly
what its script imports (conda itself cannot run here, so the imports are checked statically)."""

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

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
RUNTIME_PLUGINS = {"tifffile": {"imagecodecs"}}  # tifffile's codecs (zstd, Deflate) live in imagecodecs


def rule_blocks():
    """(file, kind, name, body) of every rule and checkpoint in rules/*.smk."""
    blocks = []
    for path in sorted((REPO / "rules").glob("*.smk")):
        text = path.read_text()
        starts = [m for m in re.finditer(r"^(rule|checkpoint) (\w+):", text, flags=re.M)]
        for index, match in enumerate(starts):
            end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
            body = text[match.end():end]
            body = re.split(r"^\S", body, maxsplit=1, flags=re.M)[0]  # stop at the next top-level line
            blocks.append((path.name, match.group(1), match.group(2), body))
    return blocks


RULES = rule_blocks()


def test_rules_were_found():
    names = {name for _, _, name, _ in RULES}
    assert {"plan", "denoise", "threshold", "segment", "confusion", "metrics", "overlay", "summary"} <= names


@pytest.mark.parametrize("file, kind, name, body", RULES, ids=[r[2] for r in RULES])
def test_rule_declares_log_benchmark_threads_memory_and_env(file, kind, name, body):
    for directive in ("log:", "benchmark:", "threads:", "resources:", "mem_mb=", "conda:", "script:"):
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


def third_party_imports(script):
    """Distributions a script needs: its imports and those of the segval modules it uses, transitively."""
    seen, todo, packages = set(), [script], set()
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


def env_packages(env_file):
    env = yaml.safe_load(env_file.read_text())
    pinned = {}
    for dependency in env["dependencies"]:
        if isinstance(dependency, dict):
            for requirement in dependency["pip"]:
                name, _, version = requirement.partition("==")
                pinned[name] = version
    return pinned


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
    needed = third_party_imports(script)
    declared = env_packages(env_file)
    assert set(declared) == needed, (
        f"rule {name}: {env_file.name} declares {sorted(declared)} but {script.name} imports {sorted(needed)}"
    )
    pins = requirements()
    for package, version in declared.items():
        assert pins.get(package) == version, f"{env_file.name}: {package}=={version} differs from requirements.txt"


def test_every_env_file_is_used():
    used = {rule_env_and_script(body)[0].name for _, _, _, body in RULES}
    assert used == {p.name for p in (REPO / "envs").glob("*.yaml")}
