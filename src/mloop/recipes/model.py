"""The model format's old address, kept only because files on disk name it: use `mloop.model_format`.

Before the model format became its own package (`mloop.model_format`) it lived here, and three
kinds of stored files still import it by this path:

- MLflow models logged by those versions: MLflow copied the "model from code" file into the
  model, and that copy's `load_context` runs `from mloop.recipes.model import load_model_dir`;
- pipeline outputs stored by those versions (a train step's model in the artifact store): their
  record names the class `mloop.recipes.model:TabularModel`, which `retry` and the step cache
  import to load it.

Nothing in mloop imports this module (a test checks that); do not add to it.
"""

from mloop.model_format.tabular import TabularModel, load_model_dir, pyfunc_code_path

__all__ = ["TabularModel", "load_model_dir", "pyfunc_code_path"]
