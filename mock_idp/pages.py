"""HTML pages: the login form, the error page, and "signed out" pages."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

_BASE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} - sso-harness mock IdP</title>
<style>
body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}
label{display:block;margin:.8rem 0 .2rem}
input[type=text],input[type=password]{width:100%;padding:.4rem}
button{margin-top:1rem;padding:.5rem 1.2rem}.error{color:#a00}.rule{font-family:monospace}
.muted{color:#666;font-size:.9rem}table{border-collapse:collapse}td{padding:.2rem .6rem}
</style></head><body>{% block body %}{% endblock %}</body></html>"""

_LOGIN = """{% extends "base" %}{% block body %}
<h1>Sign in</h1>
{% if sp %}<p class="muted">to <b>{{ sp }}</b></p>{% endif %}
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="{{ action }}">
  <input type="hidden" name="login" value="{{ handle }}">
  <label for="username">Username</label>
  <input type="text" id="username" name="username" value="{{ username }}" autofocus
    autocomplete="username">
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password">
  <button type="submit">Sign in</button>
</form>
<p class="muted">sso-harness mock IdP ({{ preset }} preset)</p>
{% endblock %}"""

_ERROR = """{% extends "base" %}{% block body %}
<h1>Request refused</h1>
<p class="error">{{ message }}</p>
<table><tr><td>Reason</td><td class="rule">{{ reason }}</td></tr>
<tr><td>Rule</td><td class="rule">{{ rule }}</td></tr>
<tr><td>HTTP status</td><td>{{ status }}</td></tr></table>
<p class="muted">No SAML response was sent. The journal (<code>GET /api/journal</code>) has the
decoded request.</p>
{% endblock %}"""

_MESSAGE = """{% extends "base" %}{% block body %}
<h1>{{ title }}</h1><p>{{ message }}</p>
{% endblock %}"""

_ENV = Environment(
    loader=DictLoader({"base": _BASE, "login": _LOGIN, "error": _ERROR, "message": _MESSAGE}),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def render(template: str, **context: object) -> str:
    return _ENV.get_template(template).render(**context)
