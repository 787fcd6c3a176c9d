"""learn2learn, imported quietly: its ``gym`` dependency prints deprecation noise on import.

One import point for the two modules that use it (task sampling in :mod:`gtl.tasks`,
miniImageNet's downloader in :mod:`gtl.data`), so neither imports the other for it.
"""
from __future__ import annotations

import contextlib
import io
import warnings


def import_learn2learn():
    """Import learn2learn without the noise its ``gym`` dependency prints on import."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()), \
            contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        import learn2learn
    return learn2learn
