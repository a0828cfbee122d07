"""Recipes: built-in steps, reference pipelines and data generators (the model they train is
`mloop.model_format`).

Nothing heavy is imported here; import the submodule you need (`mloop.recipes.steps`,
`mloop.recipes.pipelines`, `mloop.recipes.datasets`).
"""
