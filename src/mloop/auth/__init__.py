"""Identity: tokens stored hashed, dashboard sessions, principals and roles.

Every caller of every surface is a `Principal` proven by a token (HTTP: `Authorization:
Bearer`; dashboard: a session opened with one; CLI: `MLOOP_TOKEN`, see `require`), or, in a
single-user workspace, the configured principal. Names are normalised before any comparison.
"""

from mloop.auth.identity import TOKEN_ENV, cli_mode, ensure_tokens_migrated, require
from mloop.auth.principals import ANONYMOUS, ROLES, Principal, act_as, acting_principal, check_role, normalize
from mloop.auth.sessions import Session, close_session, find_session, open_session
from mloop.auth.tokens import TokenRecord, authenticate, create_token, list_tokens, lookup, revoke_token

__all__ = [
    "ANONYMOUS", "ROLES", "TOKEN_ENV", "Principal", "Session", "TokenRecord", "act_as", "acting_principal",
    "authenticate", "check_role", "cli_mode", "close_session", "create_token", "ensure_tokens_migrated",
    "find_session", "list_tokens", "lookup", "normalize", "open_session", "require", "revoke_token",
]
