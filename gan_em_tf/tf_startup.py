"""Importing TensorFlow without its C++ start-up log on a normal CLI run.

The full ``tensorflow`` wheel prints ``cudart_stub … Could not find cuda drivers`` and ``E0000 … failed
call to cuInit`` on every CPU machine: error-looking lines that are not errors. ``TF_CPP_MIN_LOG_LEVEL=3``
removes those printed once absl has started; the lines printed while the library loads ignore it, so
standard error is pointed at /dev/null for the import itself (restored afterwards, so an import error
still shows). The CLI switches this on unless the user set ``TF_CPP_MIN_LOG_LEVEL`` or passed
``--verbose``; library callers get TensorFlow's own behaviour.
"""
from __future__ import annotations

import contextlib
import os
import sys

_quiet = False


def set_quiet(enabled: bool) -> None:
    global _quiet
    _quiet = enabled
    if enabled:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


def import_tensorflow():
    """``import tensorflow``, silenced when :func:`set_quiet` asked for it; returns the module."""
    if "tensorflow" in sys.modules or not _quiet:
        import tensorflow

        return tensorflow
    with _stderr_to_devnull():
        import tensorflow
    return tensorflow


@contextlib.contextmanager
def _stderr_to_devnull():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
