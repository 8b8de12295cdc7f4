"""Tests of the park_sync add-on and the reference central, over real loopback HTTP/TCP."""
