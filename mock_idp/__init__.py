"""The mock identity provider: a scriptable SAML IdP that provisions over SCIM."""
