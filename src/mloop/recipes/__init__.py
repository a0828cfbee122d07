"""Recipes: the model format, built-in steps, reference pipelines and data generators.

Nothing heavy is imported here; import the submodule you need (`mloop.recipes.model`,
`mloop.recipes.steps`, `mloop.recipes.pipelines`, `mloop.recipes.datasets`).
"""
