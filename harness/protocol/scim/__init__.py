"""SCIM 2.0 (RFC 7643, RFC 7644): schemas, filters, paths, PATCH, errors."""
