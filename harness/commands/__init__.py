"""The sub-commands of sso-harness, one module each."""
