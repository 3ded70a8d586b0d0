"""Speed beyond the layers: every core (``DataParallel``) and no page faults
(``keep_freed_memory``).  Not needed to read the core; see docs/performance.md."""

from .memory import keep_freed_memory
from .parallel import DataParallel

__all__ = ["DataParallel", "keep_freed_memory"]
