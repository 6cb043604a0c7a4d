"""Lightning callbacks (what a run records and shows) and Hydra callbacks (what a sweep does
before and after its jobs). One yaml per callback in conf/callbacks/ and conf/hydra/.

Importing this package is light: `hydra` below is loaded by every Hydra run, and an
import-linter contract (pyproject.toml) keeps torch and lightning out of it.
"""
