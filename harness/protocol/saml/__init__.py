"""SAML 2.0 core: messages, bindings, signing, SP validation."""
