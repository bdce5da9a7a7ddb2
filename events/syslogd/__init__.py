"""The syslog listener (``manage.py syslogd``): UDP, TCP and TLS in one asyncio process."""
