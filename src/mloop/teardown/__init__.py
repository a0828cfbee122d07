"""Teardown in dependency order: purge a feature group, delete runs, destroy a whole workspace.

Seed 001 tears everything down and redeploys ("nuke & redeploy"). Each package deletes its own
records; this package orders the deletions (endpoints before the versions they serve, versions
and runs before the data they came from) and removes content-addressed artifacts only once no
record of any package refers to them.
"""

from mloop.teardown.content import drop_unreferenced
from mloop.teardown.destroy import DestroyPlan, destroy, plan
from mloop.teardown.groups import GroupInUse, group_references, purge_group
from mloop.teardown.runs import delete_run

__all__ = ["DestroyPlan", "GroupInUse", "delete_run", "destroy", "drop_unreferenced", "group_references",
           "plan", "purge_group"]
