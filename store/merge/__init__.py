"""Merging two contacts and undoing it, public face.

Inside: operations.py (preview, merge, unmerge, history: Actor-taking operations and the
field rules), rows.py (their SQL: reading both rows, the snapshot, moving rows and back).
"""

from store.merge.operations import (
    FIELDS,
    FieldDiff,
    MergeInfo,
    MergePreview,
    MergeResult,
    merge,
    merges,
    preview,
    unmerge,
)

__all__ = [
    "FIELDS",
    "FieldDiff",
    "MergeInfo",
    "MergePreview",
    "MergeResult",
    "merge",
    "merges",
    "preview",
    "unmerge",
]
