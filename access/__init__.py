"""Access control: who may read what (``policy``), the tokens, sessions and audit log that record
it (``store``), the audit log's tamper evidence (``audit_log``), and the reviews people make of a
forecast (``reviews``)."""

from continuity.access.audit_log import READ, ChainCheck, Read, audit_filter
from continuity.access.policy import Grant, Role, ScopeError, check_scope
from continuity.access.reviews import Action
from continuity.access.store import AccessStore, create_token, list_tokens, revoke_token, verify_audit

__all__ = [
    "READ", "AccessStore", "Action", "ChainCheck", "Grant", "Read", "Role", "ScopeError", "audit_filter", "check_scope",
    "create_token", "list_tokens", "revoke_token", "verify_audit",
]
