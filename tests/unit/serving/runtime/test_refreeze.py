"""Loaded models are frozen out of the cyclic collector's sight, and a swapped-out model's cycles still go."""

from __future__ import annotations

import gc
import weakref

from mloop.serving.runtime.live import refreeze


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector can free it


def test_a_loaded_model_is_frozen_and_a_dropped_one_is_collected() -> None:
    gc.freeze()  # as the server does at start
    try:
        dropped = Node()
        gone = weakref.ref(dropped)
        gc.freeze()  # the old model, frozen when it was loaded
        del dropped
        model = [[i] for i in range(5000)]  # the new model's objects, loaded after the freeze
        assert any(o is model[0] for o in gc.get_objects())  # walked by every full collection
        refreeze()
        assert gone() is None  # frozen garbage would otherwise live for the life of the server
        assert not any(o is model[0] for o in gc.get_objects())  # now in the permanent generation
    finally:
        gc.unfreeze()
