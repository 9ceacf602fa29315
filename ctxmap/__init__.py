"""ctxmap: a map-first dashboard for Contextual Safeguarding.

All logic lives in this package as small, typed functions over GeoDataFrames and
dataclasses. Only :mod:`ctxmap.app` imports streamlit.
"""

__version__ = "0.1.0"
