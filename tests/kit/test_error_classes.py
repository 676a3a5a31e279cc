"""Every domain exception (a DomainError: raised by a service, rendered as problem+json) lives in app/kit/errors.py."""

from __future__ import annotations

import importlib
import pkgutil

import app
from app.kit.errors import DomainError


def _all_subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *_all_subclasses(direct)}}


def test_every_domain_error_is_defined_in_kit_errors():
    for module in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(module.name)
    elsewhere = sorted(f"{c.__module__}.{c.__qualname__}" for c in _all_subclasses(DomainError)
                       if c.__module__ != "app.kit.errors")
    assert elsewhere == []
