"""The reference SP SCIM 2.0 server: store, query compiler, HTTP endpoints."""
