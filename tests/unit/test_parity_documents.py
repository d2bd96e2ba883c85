"""Parity findings in document text, against given environment snapshots (no engine needed):
which `%pip install` words are packages, where they are, and what requirement each would add."""

from __future__ import annotations

from pathlib import Path

from expenv.services.config import parse_config
from expenv.services.parity.documents import DocumentParity, _pip_packages
from expenv.services.parity.snapshot import EnvironmentSnapshot, ParityError


def _snapshot(packages: dict[str, str], modules: dict[str, list[str]]) -> EnvironmentSnapshot:
    return EnvironmentSnapshot(python="3.11.2", implementation="CPython", executable="/x/python", platform="linux",
                               packages=packages, names={n: n for n in packages}, modules=modules,
                               stdlib=["os", "sys", "json"])


IMAGE = _snapshot({"pandas": "2.2.3"}, {"pandas": ["pandas"]})
KERNEL = _snapshot({"pandas": "2.2.3", "six": "1.17.0", "python-dateutil": "2.9.0"},
                   {"pandas": ["pandas"], "six": ["six"], "dateutil": ["python-dateutil"]})


def _parity(tmp_path: Path, image=IMAGE, kernel=KERNEL, requirements: str | None = None) -> DocumentParity:
    text = '[project]\nname = "p"\n[environment]\nproduction_image = "prod:1"\n'
    if requirements:
        text += f'requirements = "{requirements}"\n'
    config, problems = parse_config(text, tmp_path)
    assert problems == []
    parity = DocumentParity(config, kernel_python="/x/python")

    def load(value):
        if isinstance(value, Exception):
            raise value
        return value

    parity._image.load = lambda: load(image)
    parity._kernel.load = lambda: load(kernel)
    return parity


def test_pip_words_that_name_packages():
    args = (' -q -r reqs.txt --index-url https://pypi.example/simple "python-dateutil>=2" six '
            './wheels/Six_Extra-1.0-py3-none-any.whl {pkg} ./local-project -e . --upgrade  # a comment')
    assert _pip_packages(args) == [("python-dateutil>=2", "python-dateutil"), ("six", "six"),
                                   ("./wheels/Six_Extra-1.0-py3-none-any.whl", "six-extra")]


def test_hand_installs_and_imports_the_image_lacks(tmp_path):
    (tmp_path / "helpers.py").write_text("")
    source = "%pip install -q six pandas\n!pip install python-dateutil==2.9.0\nimport six, os, helpers\nimport pandas\n"
    found = [(f.line, f.column, f.end_column, f.code, f.requirement) for f in _parity(tmp_path).findings(source)]
    assert found == [(0, 16, 19, "parity_pip", "six==1.17.0"),
                     (1, 13, 35, "parity_pip", "python-dateutil==2.9.0"),
                     (2, 7, 10, "parity_import", "six==1.17.0")]


def test_a_hand_install_the_kernel_does_not_have_yet_keeps_the_words_as_written(tmp_path):
    [finding] = _parity(tmp_path).findings("%pip install 'scikit-learn>=1.4'\n")
    assert finding.requirement == "scikit-learn>=1.4" and "pipelines/requirements.txt" in finding.message


def test_the_configured_requirements_file_is_the_one_named(tmp_path):
    parity = _parity(tmp_path, requirements="docker/requirements.lock")
    assert parity.config.requirements_file == tmp_path / "docker" / "requirements.lock"
    assert "docker/requirements.lock" in parity.findings("import six\n")[0].message


def test_no_image_means_no_findings_and_a_reason(tmp_path):
    parity = _parity(tmp_path, image=ParityError("cannot check parity against prod:1: no such image"))
    assert parity.findings("import six\n%pip install six\n") == []
    assert parity.problem == "cannot check parity against prod:1: no such image"
    broken = _parity(tmp_path, image=ConnectionError("engine went away"))
    assert broken.findings("import six\n") == [] and broken.problem == "ConnectionError: engine went away"


def test_a_package_written_with_escapes_marks_the_whole_install(tmp_path):
    [finding] = _parity(tmp_path).findings("%pip install si\\x\n")
    assert (finding.line, finding.column, finding.end_column) == (0, 12, 17)
