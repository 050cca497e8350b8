"""The run engine, in stages: extract (list + read CSV) -> transform (expressions, checks)
-> load (partition, write Parquet, prune). `run.run_pipeline` drives them."""
