"""The inbound path, public face: parsed webhook messages written under the plan cap.

Inside: writer.py (BatchWriter: webhook items queued and committed in batches), sqlite_loop.py
(SQLite's writer on its own loop thread), ingest.py (write_batch: one batch in one transaction;
admit_held), capacity.py (the plan cap: period rows, the cap lock, held messages), concat.py
(multipart SMS parts parked until whole), concat_expiry.py (closing sets that never complete).
capacity is public as a module: store.plan takes the cap lock through it.
"""

from store.inbound import capacity
from store.inbound.concat_expiry import DEFAULT_TIMEOUT, close_expired
from store.inbound.ingest import admit_held, write_batch
from store.inbound.writer import BatchWriter, WriteFailed, WriterClosed

__all__ = [
    "DEFAULT_TIMEOUT",
    "BatchWriter",
    "WriteFailed",
    "WriterClosed",
    "admit_held",
    "capacity",
    "close_expired",
    "write_batch",
]
