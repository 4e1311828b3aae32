"""Library-like building blocks shared by every context. Never imports a context."""
