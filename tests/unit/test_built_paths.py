"""The hover's reading of a literal inside an expression built from constants (services/code/built.py)."""

from expenv.services.code.reads import candidate_at

MODULE = '''import os
BASE = "data/raw"
a = os.path.join(BASE, "payments.csv")
b = "data/raw/" + "customers.parquet"
'''


def test_the_outermost_expression_built_from_constants_is_the_candidate():
    joined = candidate_at(MODULE, 2, 26)
    assert (joined.text, joined.start, joined.end, joined.likely) == ("data/raw/payments.csv", 4, 38, True)
    added = candidate_at(MODULE, 3, 20)
    assert (added.text, added.start) == ("data/raw/customers.parquet", 4)


def test_half_typed_code_falls_back_to_the_literal_alone():
    typing = MODULE + 'c = os.path.join(BASE, "usage"\n'
    found = candidate_at(typing, 4, 25)
    assert (found.text, found.start) == ("usage", 24)


def test_a_huge_module_is_not_parsed_for_a_hover():
    huge = MODULE + "x = 1\n" * 40_000   # over MAX_PARSED_CHARS
    found = candidate_at(huge, 2, 26)
    assert (found.text, found.start) == ("payments.csv", 24)   # the literal alone
