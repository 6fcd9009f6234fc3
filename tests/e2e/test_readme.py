"""The README's examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from entrypoints.container import build_container
from entrypoints.http import create_app

README = Path(__file__).resolve().parents[2] / "README.md"


def example(name: str) -> str:
    match = re.search(rf"<!-- example: {name} -->\n```python\n(.*?)```", README.read_text(), re.S)
    assert match, f"README has no example named {name}"
    return match[1]


def run_example(name: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    script = workdir / f"{name}.py"
    script.write_text(example(name))
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_host_example_registers_a_user_in_its_own_database(tmp_path: Path) -> None:
    result = run_example("host", tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"ada has wallet [0-9a-f-]{36} holding 0\.00\n", result.stdout)
    assert (tmp_path / "host.db").stat().st_size > 0


def test_the_fake_example_passes_without_touching_a_database(tmp_path: Path) -> None:
    result = run_example("fake", tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.glob("*.db")) == []


def test_the_readme_lists_every_http_endpoint_and_nothing_else() -> None:
    listed = set(
        re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE) \| (/\S*) \|", README.read_text(), re.M)
    )
    schema = create_app(build_container()).openapi()
    served = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    assert listed == served


def test_the_make_targets_the_readme_names_exist() -> None:
    block = re.search(r"## Two commands\n.*?```sh\n(.*?)```", README.read_text(), re.S)
    assert block, "README has no Two commands block"
    targets = re.findall(r"^make (\w+)", block[1], re.M)
    assert targets == ["serve", "test"]
    for target in [*targets, "demo"]:
        dry_run = subprocess.run(
            ["make", "-n", target], cwd=README.parent, capture_output=True, text=True, check=False
        )
        assert dry_run.returncode == 0, dry_run.stderr
