"""Contacts in and out as files, public face: CSV import (importer) and CSV/PDF export (export).

Inside: importer.py (import_csv: the operation), csvio.py (reading a CSV: encoding, header,
clean rows), import_batch.py (a batch of rows upserted), import_conflicts.py (the rule for a
row that would overwrite another person), import_rows.py (their bulk SQL); export.py (CSV and
PDF exports: the operations), pdf.py (the PDF table layout, imported only for a PDF export).
"""

from store.files import export, importer
from store.files.csvio import IDENTIFYING, SYNONYMS
from store.files.import_conflicts import OnConflict, on_conflict

__all__ = ["IDENTIFYING", "SYNONYMS", "OnConflict", "export", "importer", "on_conflict"]
