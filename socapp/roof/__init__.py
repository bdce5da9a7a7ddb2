"""The roof: what assembles the apps into one site. URL confs, ASGI routing, the API
router, the home and dashboard pages and their API, bootstrap and demo data, and the
management commands that touch apps. It imports every app; nothing imports it.

Everything else in socapp/ is the floor: it imports no app, and every app may import it.
"""
