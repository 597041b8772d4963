"""sso-harness: conformance harness for SAML 2.0 sign-in and SCIM 2.0 provisioning.

This module imports nothing so that ``mock_idp`` and ``reference_sp`` can use
``harness.protocol`` without pulling in the engine.
"""

__version__ = "0.1.0"
