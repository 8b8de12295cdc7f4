"""Tests of the park simulator."""
