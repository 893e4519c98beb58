"""The import check (tests/check_imports.py): the code passes it, it can fail, and the picture in
docs/architecture.md is the code's."""

import re
from pathlib import Path

from tests import check_imports

DOC = check_imports.ROOT / "docs" / "architecture.md"


def test_lotses_imports_point_one_way():
    assert check_imports.problems(check_imports.read()) == []


def test_the_architecture_picture_is_the_codes():
    found = re.search(r"```mermaid\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert found is not None, "docs/architecture.md has no Mermaid block"
    assert found.group(1) == check_imports.mermaid(check_imports.read()), (
        "The picture is out of date: paste the output of "
        "`python tests/check_imports.py --mermaid` into docs/architecture.md"
    )


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_check_finds_cycles_upward_imports_and_missing_modules(tmp_path, monkeypatch):
    monkeypatch.setattr(check_imports, "KNOWN", {})
    write(
        tmp_path,
        {
            "lotse/__init__.py": "",
            # A cycle held together by an import inside a function still counts.
            "lotse/a.py": "def f():\n    from lotse import b\n",
            "lotse/b.py": "from . import a\nimport lotse.missing\n",
            "lotse/app.py": "import partners.models\n",
            "directory/__init__.py": "",
            "directory/x.py": "from partners.models import Partner\n",
            "directory/search/__init__.py": "",
            "directory/search/find.py": "from directory import y\n",
            "directory/y.py": "from directory.search.find import z\n",
            "directory/upkeep/__init__.py": "",
            "directory/upkeep/merge.py": "from directory.interop import hsds\n",
            "directory/interop/__init__.py": "",
            "directory/interop/hsds.py": "",
            "partners/__init__.py": "",
            "partners/models.py": "import directory.x\nfrom lotse.app import create_app\n",
        },
    )
    found = "\n".join(check_imports.problems(check_imports.read(tmp_path)))
    expected = [
        "Cycle of files lotse.a -> lotse.b -> lotse.a:\n"
        "    lotse/a.py:2 imports lotse.b\n"
        "    lotse/b.py:1 imports lotse.a",
        "lotse/b.py:2 imports lotse.missing, which is no module of Lotse",
        "Cycle of packages directory -> partners -> directory:",
        "directory/x.py:1 imports partners.models: directory is below partners",
        "Cycle of packages directory.search -> directory.y -> directory.search:",
        "directory/upkeep/merge.py:1 imports directory.interop.hsds: directory.upkeep is below "
        "directory.interop",
        "partners/models.py:2 imports lotse.app: only the entry points",
    ]
    for message in expected:
        assert message in found
    # The app factory may import any domain.
    assert "lotse/app.py" not in found


def test_the_picture_names_every_package(capsys):
    assert check_imports.main(["--mermaid"]) == 0
    picture = capsys.readouterr().out
    for package in ("lotse/", "directory/", "search/", "upkeep/", "interop/", "partners/"):
        assert f'["{package}"]' in picture
