"""Payment links and payment providers: the hosted checkout (production) and the sandbox."""
