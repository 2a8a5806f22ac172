"""Tooling for the worker-pinning patch series against the distributed sdist.

Electron-style patch workflow: ``patches/`` is the source of truth, ``import`` turns it
into a git work tree with one commit per patch, ``export`` turns commits back into
normalised, byte-stable patch files, and ``check`` fails when the two disagree.
"""
