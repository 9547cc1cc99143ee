"""Names bound once to a string (``constants.py``): only an exact, static answer counts."""

from __future__ import annotations

import libcst as cst
import pytest

from dagshift.converter.constants import Constants
from dagshift.converter.walk import scan


def _text(source: str, name: str = "CMD") -> str | None:
    constants = Constants()
    scan(cst.parse_module(source), [constants])
    return constants.text(cst.Name(name))


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ('CMD = "echo 1"', "echo 1"),
        ('CMD = "echo " "{{ ds }}"', "echo {{ ds }}"),
        ('import textwrap\nCMD = textwrap.dedent("""\n    a\n      b\n""")', "\na\n  b\n"),
        ('import textwrap as tw\nCMD = tw.dedent("  x")', "x"),
        ('from textwrap import dedent as dd\nwith x:\n    CMD = dd("  x")', "x"),
    ],
)
def test_a_name_bound_once_to_a_string_or_its_dedent_has_that_text(source, text):
    assert _text(source) == text


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ('T = "t"\nCMD = f"echo {T} {{{{ ds }}}}"', "echo t {{ ds }}"),
        ("N = 7\nCMD = f\"{N:03d} {N!r} {'x'!r:>4}\"", "007 7  'x'"),
        ('CMD = rf"a\\n{{x}}"', "a\\n{x}"),
        ('CMD = f"""a\n{\'b\'}"""', "a\nb"),
        ('A = "x"\nB = A + "-" + A\nCMD = B + "!"', "x-x!"),
        ('T = "t"\nCMD = "{} {n} {{ ds }}".format(T, n=2)', "t 2 { ds }"),
        ('import textwrap\nT = "t"\nCMD = textwrap.dedent(f"  {T}\\n  b")', "t\nb"),
    ],
)
def test_a_string_built_from_names_bound_once_has_the_value_python_gives(source, text):
    assert _text(source) == text
    namespace: dict = {}
    exec(compile(source, "<case>", "exec"), namespace)  # the test alone runs it, to compare
    assert namespace["CMD"] == text


@pytest.mark.parametrize(
    "source",
    [
        'CMD = "a"\nCMD = "b"',  # bound twice
        'CMD = "a"\nfor CMD in []: pass',  # also a loop target
        'CMD = "a"\ndef f(CMD): pass',  # also a parameter
        'CMD = "a"\nwith x as CMD: pass',
        'CMD = "a"\nfrom os import *',  # a star import could bind anything
        'CMD = "a"\nCMD += "b"',
        'CMD = f"echo {x}"',
        'CMD = b"echo"',
        'CMD = other("a")',
        'def dedent(t): return t\nCMD = dedent("  a")',  # not textwrap's
        'from textwrap import dedent\ndedent = str\nCMD = dedent("  a")',
        'import textwrap\nCMD = textwrap.dedent("  a", "b")',
        "CMD = A = 'a'",
        'CMD = f"{x}"',  # x is not bound
        'X = "a"\nX = "b"\nCMD = f"{X}"',  # bound twice
        'X = "a"\nCMD = f"{X=}"',  # prints the expression's source too
        'X = "a"\nCMD = f"{X.upper()}"',  # a method call runs code
        'W = 4\nCMD = f"{1:{W}}"',  # a nested format spec
        'CMD = "{0.real}".format(1)',  # attribute access in a field
        'CMD = "{} {}".format("a")',  # Python fails this
        'A = B\nB = A\nCMD = A + "x"',  # a cycle
        'CMD = "a" + 1',
    ],
)
def test_any_other_binding_gives_no_text(source):
    assert _text(source) is None
