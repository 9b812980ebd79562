"""Shared CLI plumbing: help text layout and option values."""

import os

import pytest

from textmanifold.cli import _reflowed, app
from textmanifold.cli._options import parse_size, worker_count
from textmanifold.errors import InputError


def test_reflowed_joins_lines_within_paragraphs_only():
    doc = """First line
    goes on.

        Second paragraph,
        two lines.
    """
    assert _reflowed(doc) == "First line goes on.\n\nSecond paragraph, two lines."


def test_every_command_help_is_reflowed():
    def commands(group):
        yield from group.registered_commands
        for sub in group.registered_groups:
            yield from commands(sub.typer_instance)

    helps = [c.help for c in commands(app)]
    assert len(helps) >= 15 and all(helps)
    for text in helps:
        assert all("\n" not in paragraph for paragraph in text.split("\n\n")), text


@pytest.mark.parametrize(("text", "size"), [("320x240", (320, 240)), (" 64 X 48 ", (64, 48))])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["320", "320x", "axb", "320x240x3", "-1x5"])
def test_parse_size_rejects(text):
    with pytest.raises(InputError, match="WIDTHxHEIGHT"):
        parse_size(text)


def test_worker_count():
    assert worker_count(3) == 3
    assert worker_count(0) == (os.cpu_count() or 1)
    with pytest.raises(InputError, match="--workers"):
        worker_count(-1)
