"""The load cache's old name: the item store (itemstore.py) took its place. Kept only so that
the modules that still import `RenderCache` from here (build.py, preview/loop.py) need no
change while other work on them is under way; import from itemstore.py instead."""

from digest.incremental.itemstore import RACY_NS, ItemStore

RenderCache = ItemStore

__all__ = ["RACY_NS", "ItemStore", "RenderCache"]
