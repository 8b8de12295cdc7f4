"""park_sync: sync Smart Park Hub data from Home Assistant to the district central platform."""

__version__ = "0.1.0"
