"""Benchmarks for devserver: ``python -m benchmarks`` (throughput against runserver) and friends.

Not part of the installed package; run from the repository root with the dev virtualenv.
"""
