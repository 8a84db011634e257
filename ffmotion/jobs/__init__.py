"""Jobs: work spread over processes and machines (one executor interface for the local pool
and Dask; chunked single-file runs)."""
