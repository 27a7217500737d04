"""Skip a test whose requirement is missing, except in CI (``CI=true``), where it fails.

CI runs as root on a machine that can install every tool, so a missing requirement there
means the set-up is broken, and a silent skip would hide that.
"""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    """True when running in CI (the ``CI`` environment variable is ``true``)."""
    return os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip the calling test with ``reason`` unless ``condition``; fail instead in CI."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"requirement missing in CI (tests may not skip there): {reason}", pytrace=False)
    pytest.skip(reason)


def require_root() -> None:
    """The test needs root (network namespaces, raw sockets)."""
    require(os.geteuid() == 0, "needs root: creates network namespaces and raw sockets "
            "(run the suite as root, e.g. `sudo ./dev test`)")


def require_tool(name: str, package: str) -> str:
    """The test needs the command ``name`` (from the Debian package ``package``)."""
    path = shutil.which(name)
    require(path is not None, f"needs `{name}` (Debian package {package}; `./dev test` installs "
            "it when run as root)")
    return path  # type: ignore[return-value]
