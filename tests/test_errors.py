"""The error tree: every error a user can meet is defined and documented in ``autoalign.errors``."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import autoalign
from autoalign import errors


def _every_module() -> None:
    """Import the whole package, so that every subclass of AutoalignError it defines exists."""
    for module in pkgutil.walk_packages(autoalign.__path__, "autoalign."):
        if not module.name.endswith("__main__"):  # that one runs the CLI
            importlib.import_module(module.name)


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(sub) for sub in found))


def test_every_user_error_is_defined_in_the_tree_and_documented_with_its_status():
    _every_module()
    tree = errors.__doc__
    assert tree is not None
    for error in _subclasses(errors.AutoalignError) | {errors.AutoalignError}:
        assert error.__module__ == "autoalign.errors", f"{error.__name__} is defined in {error.__module__}"
        assert error.__doc__, f"{error.__name__} says nothing about when it is raised"
        line = re.search(rf"─ {error.__name__}\b.*|^    {error.__name__}\b.*", tree, re.MULTILINE)
        assert line, f"{error.__name__} is missing from the tree in errors.py"
        if status := re.search(r"\s(\d{3})\s", line.group(0)):
            assert int(status.group(1)) == error.http_status, error.__name__


def test_statuses_say_who_must_act():
    assert errors.InputError.http_status == 400  # the caller fixes the request
    assert errors.NotFoundError.http_status == 404
    assert errors.BusyError.http_status == 409  # try again later
    assert errors.ModelError.http_status == 502  # the model behind the server failed
    assert errors.WorkspaceError.http_status == 503  # the server's operator must act
    assert issubclass(errors.DataError, ValueError)  # what scikit-learn callers catch


def test_typed_texts_are_refused_in_the_same_words_wherever_they_are_typed():
    from autoalign.assist.context import validate_prompt
    from autoalign.library.search import MAX_QUERY_CHARS, validate_query

    assert validate_query("  reward hacking \n") == "reward hacking"
    for check, what in ((validate_query, "query"), (validate_prompt, "question")):
        with pytest.raises(errors.InputError, match=f"^the {what} is empty: "):
            check(" \n\t")
        with pytest.raises(errors.InputError, match=f"^the {what} is 10,001 characters long; the limit is 10,000"):
            check("x" * (MAX_QUERY_CHARS + 1))
        assert check("x" * MAX_QUERY_CHARS) == "x" * MAX_QUERY_CHARS
