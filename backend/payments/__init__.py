"""Payment links and payment providers (a built-in sandbox provider included)."""
