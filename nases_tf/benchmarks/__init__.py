"""Benchmarks: NAS-Bench-201 queries, search-efficiency and ranking drivers, throughput."""
