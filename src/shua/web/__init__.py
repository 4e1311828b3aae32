"""HTTP: app factory, middleware, error rendering, the web client."""
