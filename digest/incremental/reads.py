"""What a theme's templates read of each variable, found by reading the templates (Jinja's
own parser): an incremental build fingerprints a page by what it can show, not by all it is
given. `topic.title` and `topic.items|length` on a topic page mean that the page changes
with the topic's title and the number of its items, not with each item of the topic."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import nodes

from digest.incremental.paths import CachePaths
from digest.system.atomic import write_bytes

COUNTED = "|length"  # suffix of an attribute read only through `|length` or `|count`


class Reads:
    """For each variable name: the attributes the templates read (`("items|length",
    "title")`), or None when a template uses the variable whole (passes it to a macro,
    loops over it, prints it), so that all of it matters."""

    def __init__(self, env: jinja2.Environment, paths: CachePaths, key: str) -> None:
        """`key`: the fingerprint of the theme's files and of digest's own code (this
        reading of templates is code too); what was found is kept in the cache under it."""
        self._sorted: dict[str, tuple[str, ...]] = {}  # `of`, once per name
        known = paths.reads(key)
        try:
            data = json.loads(known.read_text(encoding="utf-8"))
            self.attrs: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in
                                                      data["attrs"].items()}
            self.whole: set[str] | None = set(data["whole"])
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # none yet, or damaged: read the templates again
        self.attrs, self.whole = {}, set()
        try:
            assert env.loader is not None
            trees = [env.parse(env.loader.get_source(env, name)[0])
                     for name in env.list_templates()]
            self._params, self._modules = _macro_params(trees)
            for tree in trees:
                self._follow(tree)
        except (jinja2.TemplateError, UnicodeDecodeError, OSError):
            self.whole = None  # a broken template: the build reports it when it renders it
            return
        self._keep(paths, key)

    def _keep(self, paths: CachePaths, key: str) -> None:
        """Write what was found for the next build; forget what other themes or code read."""
        assert self.whole is not None
        data = {"attrs": {k: list(v) for k, v in self.attrs.items()},
                "whole": sorted(self.whole)}
        try:
            paths.templates.mkdir(parents=True, exist_ok=True)
            write_bytes(paths.reads(key), json.dumps(data).encode(), tmp_dir=paths.templates)
            for old in paths.old_reads(key):
                old.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only project: worked out again next time

    def of(self, name: str) -> tuple[str, ...] | None:
        if self.whole is None or name in self.whole:
            return None
        known = self._sorted.get(name)
        if known is None:
            known = self._sorted[name] = tuple(sorted(self.attrs.get(name, ())))
        return known

    def view(self, name: str, value: object) -> object:
        """What the templates can see of `value`, given to them as `name`."""
        attrs = self.of(name)
        if attrs is None:
            return value
        try:
            return tuple((a, len(_get(value, a[:-len(COUNTED)])) if a.endswith(COUNTED)
                          else _get(value, a)) for a in attrs)
        except TypeError:  # `|length` of something without one: the render will say
            return value

    def _follow(self, node: nodes.Node) -> None:
        if isinstance(node, nodes.Call) and (passed := self._passed_as_itself(node)):
            # `m.health(source)` into `{% macro health(source) %}`: what the macro reads
            # of its `source` is read of this `source` (reads are by name), so passing it
            # does not use it whole.
            for child in node.iter_child_nodes():
                if not any(child is p for p in passed):
                    self._follow(child)
            return
        if isinstance(node, nodes.Filter) and node.name in ("length", "count") and \
                node.node is not None and (read := _attribute(node.node)) is not None:
            self._add(read[0], read[1] + COUNTED)
            for child in node.iter_child_nodes(exclude=("node",)):
                self._follow(child)
            return
        if isinstance(node, nodes.Getattr | nodes.Getitem) and \
                isinstance(node.node, nodes.Name) and node.node.ctx == "load":
            read = _attribute(node)
            if read is None:
                assert self.whole is not None
                self.whole.add(node.node.name)
            else:
                self._add(*read)
            if isinstance(node, nodes.Getitem):
                self._follow(node.arg)
            return
        if isinstance(node, nodes.Name) and node.ctx == "load":
            assert self.whole is not None
            self.whole.add(node.name)
            return
        for child in node.iter_child_nodes():
            self._follow(child)

    def _passed_as_itself(self, call: nodes.Call) -> list[nodes.Node]:
        """The arguments of a macro call that are a variable given to a parameter of the
        same name, in every macro of that name (positional or keyword); their Keyword
        nodes for keywords."""
        callee = call.node
        if not (isinstance(callee, nodes.Getattr) and isinstance(callee.node, nodes.Name)
                and callee.node.name in self._modules):
            return []  # only `m.name(...)`, `m` a template imported whole
        found = self._params.get(callee.attr)
        if not found:
            return []
        passed: list[nodes.Node] = []
        for i, arg in enumerate(call.args):
            if isinstance(arg, nodes.Name) and arg.ctx == "load" and \
                    all(i < len(p) and p[i] == arg.name for p in found):
                passed.append(arg)
        for kw in call.kwargs:
            if isinstance(kw.value, nodes.Name) and kw.value.ctx == "load" and \
                    kw.key == kw.value.name and all(kw.key in p for p in found):
                passed.append(kw)
        return passed

    def _add(self, name: str, attr: str) -> None:
        self.attrs.setdefault(name, ())
        if attr not in self.attrs[name]:
            self.attrs[name] += (attr,)


def _macro_params(trees: list[nodes.Template]
                  ) -> tuple[dict[str, list[tuple[str, ...]]], set[str]]:
    """The parameters of every macro, by its name (a name defined more than once: each
    definition's), and the names templates are imported as (`import "x.html" as m`). A
    name that is also assigned (`set`, a loop) is no module."""
    params: dict[str, list[tuple[str, ...]]] = {}
    modules: set[str] = set()
    assigned: set[str] = set()
    for tree in trees:
        for macro in tree.find_all(nodes.Macro):
            params.setdefault(macro.name, []).append(tuple(a.name for a in macro.args))
        modules.update(i.target for i in tree.find_all(nodes.Import))
        assigned.update(n.name for n in tree.find_all(nodes.Name) if n.ctx == "store")
    return params, modules - assigned


def _attribute(node: nodes.Node) -> tuple[str, str] | None:
    """(variable, attribute) of `x.attr` or `x["attr"]`, else None."""
    if not isinstance(node, nodes.Getattr | nodes.Getitem) or \
            not isinstance(node.node, nodes.Name) or node.node.ctx != "load":
        return None
    if isinstance(node, nodes.Getattr):
        return node.node.name, node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.node.name, node.arg.value
    return None


def _get(value: Any, attr: str) -> Any:
    """`value.attr` as Jinja reads it: the attribute, else the item, else nothing."""
    try:
        return getattr(value, attr)
    except AttributeError:
        pass
    if isinstance(value, Mapping):
        return value.get(attr)
    return None
