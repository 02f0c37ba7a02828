"""One person's data: everything stored about them, to hand over on request or to erase.

`scope` finds what belongs to a person (the contact, the contacts merged into it, their
identities, the held messages and multipart parts waiting under their keys); `data` writes it
as one archive; `erase` deletes it and scrubs their values from the audit log.
"""

from store.person import data, scope

__all__ = ["data", "scope"]
