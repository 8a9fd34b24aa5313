"""The seed brief's code, verbatim: tests/data/seed.md is a copy of the original brief, and
``section(words)`` returns the code block under the heading containing ``words``."""
import os
import re

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "seed.md")


def _sections():
    with open(_PATH) as f:
        text = f.read()
    out = {}
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        heading, _, body = block.partition("\n")
        code = re.findall(r"```python\n(.*?)(?:```|\Z)", body, flags=re.S)
        out[heading.strip()] = "\n".join(code)
    return out


SECTIONS = _sections()


def section(words, start=None, until=None):
    """The code of the one section whose heading contains ``words``; ``start``/``until``
    cut it at a line of its own (the first such line; ``until`` is excluded)."""
    hits = [code for heading, code in SECTIONS.items() if words.lower() in heading.lower()]
    if len(hits) != 1:
        raise KeyError(f"{len(hits)} seed sections match {words!r}")
    code = hits[0]
    if start is not None:
        code = code[code.index(start):]
    if until is not None:
        code = code[:code.index(until)]
    return code
