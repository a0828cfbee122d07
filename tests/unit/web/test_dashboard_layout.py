from mloop.web.dashboard.layout import NODE_H, NODE_W, layered


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return abs(a[0] - b[0]) < NODE_W and abs(a[1] - b[1]) < NODE_H


def test_edges_run_left_to_right_and_nodes_never_overlap() -> None:
    nodes = ["extract", "validate", "preprocess", "train", "evaluate", "register", "alert"]
    edges = [("extract", "validate"), ("validate", "preprocess"), ("preprocess", "train"),
             ("train", "evaluate"), ("preprocess", "evaluate"), ("evaluate", "register"), ("evaluate", "alert")]
    layout = layered(nodes, edges)
    pos = layout.positions
    for src, dst in edges:
        assert pos[src][0] < pos[dst][0]
    assert pos["register"][0] == pos["alert"][0] and pos["register"][1] != pos["alert"][1]
    assert not any(_overlap(pos[a], pos[b]) for a in nodes for b in nodes if a != b)
    assert len(layout.paths) == len(edges)


def test_a_fifty_step_pipeline_stays_readable() -> None:
    nodes = [f"s{i}" for i in range(50)]
    edges = [(f"s{i}", f"s{i + 1}") for i in range(0, 49, 2)] + [(f"s{i}", f"s{i + 2}") for i in range(0, 48, 3)]
    layout = layered(nodes, edges)
    pos = layout.positions
    assert len(pos) == 50
    assert not any(_overlap(pos[a], pos[b]) for a in nodes for b in nodes if a != b)
    assert all(x >= 0 and y >= 0 and x + NODE_W <= layout.width and y + NODE_H <= layout.height
               for x, y in pos.values())
