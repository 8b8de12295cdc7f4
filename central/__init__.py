"""Reference central platform: the receiver a district "smart brain" implements for Smart Park Hub.

It serves the ingest API documented in docs/central-api.openapi.yaml and an HJ 212-2017 TCP server, and is the
peer used by the tests, benchmarks and demo.
"""
