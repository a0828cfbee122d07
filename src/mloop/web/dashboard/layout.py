"""A layered left-to-right layout of a DAG, computed here so the browser only draws.

Layers are longest-path distances from the sources (a step sits right of everything it needs);
within a layer, nodes are ordered by the barycentre of their neighbours over a few down and up
sweeps, which keeps edge crossings low for the shapes pipelines have (fan-out, fan-in, If/Else).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

NODE_W, NODE_H = 168, 46
COL_GAP, ROW_GAP = 72, 22
MARGIN = 24


@dataclass
class Layout:
    """Top-left positions of the nodes, the edge curves, and the canvas size."""

    positions: dict[str, tuple[float, float]]
    paths: list[dict[str, object]] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def _layers(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    preds: dict[str, list[str]] = defaultdict(list)
    for src, dst in edges:
        preds[dst].append(src)
    layer: dict[str, int] = {}

    def depth(node: str, seen: frozenset[str] = frozenset()) -> int:
        if node in layer:
            return layer[node]
        if node in seen:  # a cycle cannot come from a pipeline; never loop on one anyway
            return 0
        layer[node] = max((depth(p, seen | {node}) + 1 for p in preds[node] if p in index), default=0)
        return layer[node]

    index = set(nodes)
    for node in nodes:
        depth(node)
    return layer


def _order(columns: list[list[str]], edges: list[tuple[str, str]]) -> None:
    neighbours: dict[str, list[str]] = defaultdict(list)
    for src, dst in edges:
        neighbours[src].append(dst)
        neighbours[dst].append(src)
    for sweep in range(4):
        sequence = columns[1:] if sweep % 2 == 0 else list(reversed(columns[:-1]))
        for column in sequence:
            rank = {n: i for col in columns for i, n in enumerate(col)}
            column.sort(key=lambda n: sum(rank[m] for m in neighbours[n]) / len(neighbours[n])
                        if neighbours[n] else rank[n])


def layered(nodes: list[str], edges: list[tuple[str, str]]) -> Layout:
    """Positions for `nodes` (ids in definition order) joined by `edges` (source, target).

    Returns:
        A `Layout` with the top-left corner of each node, a cubic curve per edge (`d` for an SVG
        path and `mid` for its label), and the canvas size.
    """
    layer = _layers(nodes, edges)
    count = max(layer.values(), default=-1) + 1
    columns: list[list[str]] = [[] for _ in range(count)]
    for node in nodes:
        columns[layer[node]].append(node)
    _order(columns, edges)
    tallest = max((len(c) for c in columns), default=0)
    height = MARGIN * 2 + tallest * NODE_H + max(tallest - 1, 0) * ROW_GAP
    positions: dict[str, tuple[float, float]] = {}
    for col, column in enumerate(columns):
        used = len(column) * NODE_H + max(len(column) - 1, 0) * ROW_GAP
        top = (height - used) / 2
        for row, node in enumerate(column):
            positions[node] = (MARGIN + col * (NODE_W + COL_GAP), top + row * (NODE_H + ROW_GAP))
    layout = Layout(positions=positions, width=MARGIN * 2 + count * NODE_W + max(count - 1, 0) * COL_GAP,
                    height=height)
    for src, dst in edges:
        if src not in positions or dst not in positions:
            continue
        (x1, y1), (x2, y2) = positions[src], positions[dst]
        sx, sy, tx, ty = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
        bend = max((tx - sx) / 2, 24)
        layout.paths.append({
            "from": src, "to": dst,
            "d": f"M{sx:.1f},{sy:.1f} C{sx + bend:.1f},{sy:.1f} {tx - bend:.1f},{ty:.1f} {tx:.1f},{ty:.1f}",
            "mid": ((sx + tx) / 2, (sy + ty) / 2),
        })
    return layout
