"""Test-session set-up: the on-disk kernel cache lives in a temporary folder, never in ~/.cache."""

import os
import tempfile

_CACHE = tempfile.mkdtemp(prefix="arrowjit-test-cache-")
os.environ["ARROWJIT_CACHE_DIR"] = _CACHE
