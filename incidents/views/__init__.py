"""The console's alert and incident pages (thin: services change, selectors read)."""
