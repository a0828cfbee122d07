"""HTTP surfaces on FastAPI: the control plane (`create_app`), its auth and error handling.

Other packages plug routers into the control plane: `Depends(require_role("approver"))` guards
a route, `Depends(get_workspace)` gives the workspace. Importing this package imports FastAPI.
"""

from mloop.web.app import ROUTER_MODULES, create_app, get_workspace, mount
from mloop.web.auth import ROLES, Principal, require_role

__all__ = ["ROLES", "ROUTER_MODULES", "Principal", "create_app", "get_workspace", "mount", "require_role"]
