"""Which pages the signed-in user gets: their role's pages, only masked ones in the meeting view.

``st.navigation`` is given only the allowed pages; each page also checks its own rule
(:func:`require_page`), since Streamlit can run a file of ``pages/`` reached by its own
URL in a new session without the router.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from ctxmap.app.signin import deep_link_page, require_role
from ctxmap.privacy.roles import User, allowed_pages, page_rule

#: Session-state key of the title of the page running now (named in audit entries).
KEY_PAGE = "ctxmap_page_title"


def page_files(root: Path, names: Sequence[str] | None = None) -> list[str]:
    """The ``pages/*.py`` files that exist under ``root``, as relative paths."""
    found = sorted(p.relative_to(root).as_posix() for p in (root / "pages").glob("*.py"))
    return [f for f in found if names is None or f in names]


def user_pages(root: Path, role: str, *, meeting: bool) -> list[st.Page]:
    """The pages under ``root`` that ``role`` may open (only masked ones when ``meeting``)."""
    rules = allowed_pages(role, page_files(root))
    if meeting:
        rules = [r for r in rules if not r.unmasked]
    return [st.Page(r.path, title=r.title, default=(i == 0)) for i, r in enumerate(rules)]


def require_page(script: str) -> User:
    """Stop the page unless the signed-in user's role may open it (its rule in ``PAGE_RULES``).

    Call first in every page with ``__file__``: a page reached by its own URL is guarded
    as one reached through the menu.
    """
    rule = page_rule(f"pages/{Path(script).name}")
    st.session_state[KEY_PAGE] = rule.title
    return require_role(*rule.roles)


def follow_deep_link(pages: Sequence[st.Page], current: st.Page) -> None:
    """After a sign-in, go to the page of the link the person arrived with (if allowed).

    Its query parameters were put back by the sign-in; a page the role may not open is
    simply not among ``pages``, so the link cannot widen anyone's access.
    """
    target = deep_link_page()
    if not target or target == current.url_path:
        return
    match = next((p for p in pages if p.url_path == target), None)
    if match is not None:
        st.switch_page(match)
