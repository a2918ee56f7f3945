"""Rendering bodies into the item store (itemstore.py): the texts of content files read
anew (a first build, an edited file, a fetch), each rendered once by content/body.py, in
worker processes when there are many.

A first build of 10,000 items renders 10,000 bodies: each text is let go once its body is
in the store, and the memory freed is handed back to the system as it goes, so that the
build never holds every text and every body at once."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, wait

from digest.content import body
from digest.incremental.itemstore import ItemStore
from digest.system.memory import give_back
from digest.system.workers import process_pool

PARALLEL_FROM = 200  # bodies to render before worker processes pay for themselves
CHUNK = 64  # texts sent to a worker at a time
Texts = dict[str, tuple[body.Kind, str]]  # texts to render, by their key in the store


def render_into(store: ItemStore, texts: Texts, jobs: int) -> None:
    """Render `texts` into `store` (in up to `jobs` processes when there are many), letting
    go of each text once it is rendered. `texts` is emptied."""
    store.rendered += len(texts)
    if len(texts) < PARALLEL_FROM or jobs < 2:
        while texts:
            k, text = texts.popitem()
            store.put(k, render_one(text))
        return
    workers = min(jobs, len(texts) // (PARALLEL_FROM // 2))
    with process_pool(workers) as pool:
        pending: set[Future[list[tuple[str, body.Body]]]] = set()
        chunks = 0
        while texts or pending:
            while texts and len(pending) < 4 * workers:  # a few chunks ahead of each worker
                chunk = [texts.popitem() for _ in range(min(CHUNK, len(texts)))]
                pending.add(pool.submit(_render_chunk, chunk))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                for k, result in future.result():
                    store.put(k, result)
                chunks += 1
                if chunks % 16 == 0:  # the texts rendered so far: their pages to the system
                    give_back()


def render_one(text: tuple[body.Kind, str]) -> body.Body:
    return body.render(*text)


def render_all(work: tuple[tuple[body.Kind, str], ...]) -> list[body.Body]:
    """Render texts in this process (a worker's part of a fetch's work, see load.fresh)."""
    return [render_one(text) for text in work]


def _render_chunk(chunk: list[tuple[str, tuple[body.Kind, str]]]
                  ) -> list[tuple[str, body.Body]]:
    return [(k, render_one(text)) for k, text in chunk]
