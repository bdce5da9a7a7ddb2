"""Settings modules: ``base`` (development and `make run`), ``production``, ``test``.

Every value comes from the environment (see ``.env.example``); ``base`` holds working
local defaults so a fresh checkout runs without any configuration.
"""
