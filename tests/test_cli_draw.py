"""The nases-draw command: draws an arch.json, refuses bad files with one line and exit 2."""

import json
import subprocess
import sys

import pytest

from nases_tf import drawing
from nases_tf.cli import draw
from nases_tf.storage import fileio

from conftest import REPO
from drawing_helpers import macro_arch, micro_arch, parse_svg, with_class, write_arch_file


def test_nases_draw_writes_the_svg_beside_the_arch_json(tmp_path, capsys):
    space, arch = micro_arch()
    path = write_arch_file(tmp_path / "arch.json", space, arch)
    assert draw.main([path]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "arch.svg")
    assert (tmp_path / "arch.svg").read_text() == drawing.draw_svg(space, arch)
    out = tmp_path / "other" / "picture.svg"
    assert draw.main([path, f"--output={out}"]) == 0
    assert len(with_class(parse_svg(out.read_text()), "cell")) == 2


def _bad_files(tmp_path):
    space, arch = macro_arch()
    good = json.loads(space.dumps(arch))
    cases = {
        "missing": (tmp_path / "nope.json", None, "file not found"),
        "not_json": (tmp_path / "text.json", "arch: macro", "not valid JSON"),
        "no_keys": (tmp_path / "plain.json", {"ops": ["identity"]}, "not an arch.json"),
        "unknown_space": (tmp_path / "space.json", {**good, "space": {"name": "resnet"}},
                          "cannot rebuild its search space"),
        "bad_space_setting": (tmp_path / "setting.json",
                              {**good, "space": {"name": "macro", "depth": 3}},
                              "cannot rebuild its search space"),
        "wrong_space": (tmp_path / "wrong.json", {**good, "space": {"name": "macro", "layers": 4}},
                        "expected 4"),
    }
    for path, content, _ in cases.values():
        if isinstance(content, str):
            path.write_text(content)
        elif content is not None:
            fileio.write_json(str(path), content)
    return cases


@pytest.mark.parametrize("case", ["missing", "not_json", "no_keys", "unknown_space",
                                  "bad_space_setting", "wrong_space"])
def test_nases_draw_refuses_bad_files_with_one_line_and_exit_2(tmp_path, capsys, case):
    path, _, message = _bad_files(tmp_path)[case]
    with pytest.raises(SystemExit) as exit_info:
        draw.main([str(path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nases-draw: error: "), err
    assert str(path) in err and message in err
    assert not list(tmp_path.glob("*.svg"))


def test_nases_draw_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        draw.main([])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "arch_json" in err


@pytest.mark.slow
def test_bin_draw_arch_script(tmp_path):
    space, arch = macro_arch()
    path = write_arch_file(tmp_path / "arch.json", space, arch)
    script = str(REPO / "bin" / "draw_arch.py")
    done = subprocess.run([sys.executable, script, path], capture_output=True, text=True,
                          cwd=str(REPO), timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(with_class(parse_svg((tmp_path / "arch.svg").read_text()), "layer")) == 6
    bad = subprocess.run([sys.executable, script, str(tmp_path / "nope.json")],
                         capture_output=True, text=True, cwd=str(REPO), timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "file not found" in bad.stderr
