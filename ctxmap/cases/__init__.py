"""Cases: contexts of concern from referral to review, and the records around them.

Owns context records and their validation, the repository over the store, map evidence,
coordinator scope, consent to share, safety-map data, retention and the sample context.

May import: ctxmap.errors, ctxmap.settings, ctxmap.text, ctxmap.layers, ctxmap.store,
    ctxmap.analysis, ctxmap.nearby, ctxmap.privacy.
"""
