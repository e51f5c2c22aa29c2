"""InstanceFilter and PruneOptions as the package exports them: the native classes with
constructors that check their arguments first (duroxide.client.validate), so a bad value
raises InvalidTypeError/InvalidArgumentError naming the argument instead of the native
binding's "incompatible constructor arguments" text. Instances are the native classes'
(subclass) instances, accepted wherever those are."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from duroxide import _core
from duroxide._common import check_text
from duroxide.client.validate import check_int
from duroxide.errors import InvalidTypeError

__all__ = ["InstanceFilter", "PruneOptions"]


def _optional_int(value: Any, what: str) -> Optional[int]:
    return None if value is None else check_int(value, what)


class InstanceFilter(_core.InstanceFilter):
    __doc__ = _core.InstanceFilter.__doc__
    __slots__ = ()

    def __init__(self, instance_ids: Optional[Sequence[str]] = None,
                 completed_before: Optional[int] = None, limit: Optional[int] = None) -> None:
        ids = None
        if instance_ids is not None:
            if isinstance(instance_ids, (str, bytes)) or not hasattr(instance_ids, "__iter__"):
                raise InvalidTypeError("InstanceFilter: instance_ids must be a sequence of str, "
                                       f"not {type(instance_ids).__name__}")
            ids = [check_text(i, f"InstanceFilter: instance_ids[{n}]", allow_empty=True)
                   for n, i in enumerate(instance_ids)]
        super().__init__(ids, _optional_int(completed_before, "InstanceFilter: completed_before"),
                         _optional_int(limit, "InstanceFilter: limit"))


class PruneOptions(_core.PruneOptions):
    __doc__ = _core.PruneOptions.__doc__
    __slots__ = ()

    def __init__(self, keep_last: Optional[int] = None,
                 completed_before: Optional[int] = None) -> None:
        super().__init__(_optional_int(keep_last, "PruneOptions: keep_last"),
                         _optional_int(completed_before, "PruneOptions: completed_before"))
