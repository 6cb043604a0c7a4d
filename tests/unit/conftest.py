"""Helpers of the unit tier."""

from __future__ import annotations

import errno


def full_disk(*args, **kwargs):
    """A stand-in for os.fsync on a full disk."""
    raise OSError(errno.ENOSPC, "No space left on device")
