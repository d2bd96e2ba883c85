"""A long document is tokenized only around the position asked about (a hover in a 27,000-line
file once held the event loop for 9 s): the answer must be the one a whole-document scan gives."""

from __future__ import annotations

import random
from pathlib import Path

import expenv
from expenv.services.code import strings
from expenv.services.code.strings import literal_at, string_literals

SOURCES = sorted(Path(expenv.__file__).parent.rglob("*.py"))


def _whole_document_answer(source: str, line: int, character: int):
    return next((lit for lit in string_literals(source) if lit.contains(line, character)), None)


def test_every_literal_of_a_long_document_is_found_as_a_whole_scan_finds_it():
    source = "\n".join(p.read_text() for p in SOURCES)   # docstrings, f-strings, escapes, '#' in strings
    assert source.count("\n") > 20 * strings.WINDOW_FROM_LINES
    every = string_literals(source)
    rng = random.Random(7)
    asked = rng.sample(every, 150) + [lit for lit in every if lit.end_line > lit.line][:60]
    for lit in asked:
        for line, character in ((lit.line, lit.start), (lit.end_line, lit.end)):
            assert literal_at(source, line, character) == _whole_document_answer(source, line, character), lit


def test_positions_outside_literals_find_nothing_in_a_long_document():
    source = "\n".join(p.read_text() for p in SOURCES[:40])
    lines = source.split("\n")
    rng = random.Random(11)
    for _ in range(150):
        line = rng.randrange(len(lines))
        character = rng.randrange(len(lines[line]) + 1)
        assert literal_at(source, line, character) == _whole_document_answer(source, line, character), (line, character)


def test_a_window_never_opens_inside_strings_that_share_a_line():
    # the string at the window's edge starts on the line where another multi-line string ends
    filler = "".join(f"v{i} = {i}\n" for i in range(strings.WINDOW_FROM_LINES))
    source = filler + 'a = """one\n#two""" + """three\n' + "\n" * (strings.WINDOW_LINES + 5) + '""" + "x"\n'
    line = source.count("\n") - 1
    assert literal_at(source, line, 7) == _whole_document_answer(source, line, 7)
    assert literal_at(source, line, 7).value == "x"
