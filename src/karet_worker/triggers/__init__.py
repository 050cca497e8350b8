"""Upload-triggered runs (SPEC §12): S3 event notifications -> pipelines -> one debounced run."""
