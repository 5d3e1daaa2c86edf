"""The stateless app replica: a product catalogue over HTTP, state kept only in its Store."""
