"""The project's own scripts; ``scripts.processes`` is imported by tests and benches."""
