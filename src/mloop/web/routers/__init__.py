"""Control-plane routers, one module per resource (`router` or `register(app)`)."""
