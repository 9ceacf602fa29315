"""Privacy: what a shared view may show, who may see what, and the audit log.

Owns masks and disclosure control, the meeting view's rules and link parameters, the
audit log, sign-in, users and roles.

May import: ctxmap.errors, ctxmap.settings, ctxmap.text, ctxmap.layers, ctxmap.store.
"""
