"""Sigma in socapp: rules are parsed and validated with pySigma, and matched by our own
compiler (``matcher``) against the normalized event documents the ingest path stores.

- ``documents``: YAML text -> validated Sigma documents, with errors at their line
- ``logsources``: Sigma logsources -> which stored events a rule may see, and field names
- ``values`` / ``matcher``: a detection (every modifier, the condition grammar) -> a predicate
"""
