"""The reference service provider: strict SAML SP, SCIM 2.0 server, business-account rules."""
