"""Saving a form on a page: every error reported, nothing half saved, edits never overwritten.

One helper, :func:`save_form`, runs the writes a form asks for. Its rows are checked
before (the ``ctxmap.cases`` check that builds them raises with every problem at
once), so a bad row stops the whole form. On success the page reruns with a message;
on failure the errors stay under the form until it is saved, never flashing away.

Edit conflicts have one mechanism: a form saves against the version of a record *as
this user first read it* (:func:`version_as_read`), so a change someone else saved in
between is reported, never silently overwritten. After any save or conflict the
page reads afresh (:func:`form_generation` changes, so widgets keyed by it show the
stored values).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import streamlit as st

from ctxmap.errors import ConflictError, CtxmapError

#: Session-state keys: the message shown after a rerun, the read generation, the errors.
KEY_FLASH: Final = "ctx_flash"
_READ_PREFIX: Final = "ctx_read_"
_ERRORS_PREFIX: Final = "ctx_errors_"
_GEN_SUFFIX: Final = "_gen"
_FORMS: Final = "ctx_forms_with_reads"

Write = Callable[[], object]


def form_generation(form: str) -> int:
    """How many times ``form``'s records were read afresh; key its widgets with it."""
    st.session_state.setdefault(_FORMS, set()).add(form)
    return int(st.session_state.setdefault(f"{form}{_GEN_SUFFIX}", 0))


def version_as_read(form: str, record_id: object, version: int) -> int:
    """The version of a record as this user first read it in ``form``, kept until a save.

    Saving states this version, so a change someone else saved in between is reported
    as a conflict, never silently overwritten (a rerun would otherwise re-read it).
    """
    key = f"{_READ_PREFIX}{form}_{record_id}_{form_generation(form)}"
    return int(st.session_state.setdefault(key, version))


def _read_afresh() -> None:
    """After a save (or a conflict), every form reads the stored records again."""
    for key in [k for k in st.session_state if str(k).startswith(_READ_PREFIX)]:
        del st.session_state[key]
    for form in st.session_state.get(_FORMS, set()):
        key = f"{form}{_GEN_SUFFIX}"
        st.session_state[key] = int(st.session_state.get(key, 0)) + 1


def show_flash() -> None:
    """Show the message of the last save (once, after its rerun)."""
    if msg := st.session_state.pop(KEY_FLASH, None):
        st.success(msg)


def show_form_errors(form: str) -> None:
    """Show the errors of ``form``'s last failed save (kept until a form saves)."""
    for message in st.session_state.get(f"{_ERRORS_PREFIX}{form}", []):
        st.error(message)


def form_failed(form: str, messages: Sequence[str]) -> None:
    """Report ``messages`` for ``form`` now and on every run until the form saves."""
    st.session_state[f"{_ERRORS_PREFIX}{form}"] = list(messages)
    for message in messages:
        st.error(message)


def save_form(form: str, writes: Sequence[Write] | Callable[[], Sequence[Write]], *,
              done: str | Callable[[object], str] = "Saved.") -> bool:
    """Run a form's writes; on success rerun the page with ``done``, else report why.

    Parameters
    ----------
    form
        The form's name (its errors are kept under it).
    writes
        The writes, or a function that checks the form and returns them (it raises
        :class:`~ctxmap.errors.CtxmapError` naming every bad row, so nothing is written).
    done
        The message shown after the rerun, or a function of the last write's result
        that makes it.

    Returns
    -------
    bool
        False when nothing was saved (the errors are shown); on success the page reruns.
    """
    st.session_state.pop(f"{_ERRORS_PREFIX}{form}", None)
    result: object = None
    try:
        for write in writes() if callable(writes) else writes:
            result = write()
    except ConflictError as exc:
        _read_afresh()  # the next run shows what is stored now
        form_failed(form, [f"Not saved: {exc}"])
        return False
    except CtxmapError as exc:
        form_failed(form, [str(exc)])
        return False
    _read_afresh()
    for key in [k for k in st.session_state if str(k).startswith(_ERRORS_PREFIX)]:
        del st.session_state[key]  # the page now shows what is stored
    st.session_state[KEY_FLASH] = done(result) if callable(done) else done
    st.rerun()
    return True  # unreachable: st.rerun() raises
