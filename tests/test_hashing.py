"""Salted answer hashes."""

import numpy as np
import pytest

from autograder import answer_hash, matches_hash


def test_strings_are_stripped_and_case_folded():
    assert matches_hash("  PARIS ", answer_hash("paris"))
    assert not matches_hash("Lyon", answer_hash("paris"))


def test_numbers_are_rounded_and_types_unified():
    digest = answer_hash(0.75)
    assert matches_hash(0.7504, digest) and matches_hash(np.float32(0.75), digest)
    assert not matches_hash(0.76, digest)
    assert matches_hash(2, answer_hash(2.0))
    assert matches_hash(3.1, answer_hash(3.14, decimals=1))


def test_salt_differs_and_unhashable_values_do_not_match():
    assert answer_hash("b") != answer_hash("b")
    assert not matches_hash(object(), answer_hash("b"))
    assert not matches_hash(True, answer_hash(1))


def test_malformed_digest_says_how_to_make_one():
    with pytest.raises(ValueError, match="autograder hash VALUE"):
        matches_hash("b", "5f4dcc3b")
