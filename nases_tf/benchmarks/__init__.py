"""Benchmarks: the NAS-Bench-201 query API, the search-efficiency, keras-tuner, ranking and
throughput drivers, and their plots."""
