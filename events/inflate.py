"""Bounded decompression lives on the floor now (``socapp.inflate``): threat-intel imports
read zipped MISP feeds too, and intel may not import events. Re-exported here so events'
own imports stay as they were."""

from socapp.inflate import *  # noqa: F403
from socapp.inflate import INFLATED as INFLATED
