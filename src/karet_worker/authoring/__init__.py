"""Tools for people writing pipelines (SPEC §14): preview a mapping's output, infer a source
from sample files, and inspect the tables a pipeline has written."""
