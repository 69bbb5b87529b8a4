"""The README stays true: its Quick start is the two commands, and it documents every option."""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path

from detr_watch.args import Parser
from detr_watch.cli import SUBCOMMANDS, build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _long_options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for action in parser._actions for o in action.option_strings if o.startswith("--")} - {"--help"}


def test_quick_start_is_exactly_the_two_commands() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None
    assert block.group(1).strip().splitlines() == [
        'pip install -e ".[dev]" && detr-watch --demo',
        'pip install -e ".[dev]" && pytest',
    ]
    assert README.lstrip().startswith("# detr-watch\n\n## Quick start")


def test_every_option_of_the_live_view_is_in_the_readme() -> None:
    missing = sorted(o for o in _long_options(build_parser()) if f"`{o}" not in README)
    assert not missing, f"options missing from README.md: {missing}"


def test_every_subcommand_and_its_options_are_in_the_readme() -> None:
    for name, module_name in SUBCOMMANDS.items():
        assert f"detr-watch {name}" in README, name
        parser = importlib.import_module(f"detr_watch.commands.{module_name}").build_parser(Parser)
        missing = sorted(o for o in _long_options(parser) if o not in README)
        assert not missing, f"{name}: options missing from README.md: {missing}"
