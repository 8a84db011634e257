"""Jobs: many inputs (batch: inputs and their output names, reports) and one input
spread over processes and machines (chunked runs); one executor interface for the local
pool and Dask."""
