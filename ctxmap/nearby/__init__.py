"""Nearby: the protective places within reach of an origin, and walking times.

Owns nearest places, the walking network (``network``) and walks over it (``walking``),
opening hours, origins typed by a user and coverage of homes.

May import: ctxmap.errors, ctxmap.settings, ctxmap.text, ctxmap.layers.
"""
