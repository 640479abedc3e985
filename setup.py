"""Package layout only (the metadata is in pyproject.toml).

The repository's ``proofs/`` directory stays the one source of the proof files; it is
mapped into the installed package as ``symgrad.proofs`` (no copy in the tree), so
``symgrad prove`` finds the proofs from an installed package too.
"""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["symgrad", "symgrad.*"]) + ["symgrad.proofs"],
      package_dir={"symgrad.proofs": "proofs"})
