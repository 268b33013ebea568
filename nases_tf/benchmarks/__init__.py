"""Benchmarks: the NAS-Bench-201 query API and the search-benchmark driver, report and plots."""
