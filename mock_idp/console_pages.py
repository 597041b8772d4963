"""The console's HTML: the home page (directory, SPs, plan, journal), one journal entry decoded,
the token form and the refusal page. Jinja2 autoescapes every value."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

_BASE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} - sso-harness mock IdP</title>
<style>
body{font-family:system-ui,sans-serif;max-width:72rem;margin:1.5rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}th,td{padding:.25rem .5rem;text-align:left;
vertical-align:top;border-bottom:1px solid #eee}th{background:#f4f4f4}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f7f7;padding:.6rem;
font-size:.8rem;max-height:40rem;overflow-y:auto}
form.inline{display:inline}form.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;
margin:.5rem 0}label{display:flex;flex-direction:column;font-size:.85rem}
input,select{padding:.3rem}button{padding:.3rem .8rem}.muted{color:#666;font-size:.9rem}
.fail{color:#a00}.pass{color:#070}.add{color:#070}.del{color:#a00}code{overflow-wrap:anywhere}
nav a{margin-right:1rem}
</style></head><body>
<nav><a href="/">Console</a><a href="/saml/metadata">Metadata</a>
<a href="/api/journal">Journal (JSON)</a><a href="/api">Control API</a></nav>
{% block body %}{% endblock %}</body></html>"""

_HOME = """{% extends "base" %}{% block body %}
<h1>sso-harness mock IdP</h1>
<p>entityID <code>{{ entity_id }}</code>, preset <b>{{ preset }}</b>{% if flaws %},
flaws <b>{{ flaws|join(", ") }}</b>{% endif %}.
{% if user %}Signed in as <b>{{ user }}</b>: <a href="/saml/logout">sign out everywhere</a>.
{% endif %}</p>

<h2 id="users">Users</h2>
<table><tr><th>userName</th><th>email</th><th>groups</th><th>active</th><th></th></tr>
{% for u in users %}<tr class="user"><td>{{ u.user_name }}</td><td>{{ u.email or "" }}</td>
<td>{{ u.groups|join(", ") }}</td><td>{{ "yes" if u.active else "blocked" }}</td>
<td>{% if u.active %}<form class="inline" method="post" action="/console/block">
<input type="hidden" name="user" value="{{ u.user_name }}"><button>Block</button></form>
{% endif %}</td></tr>
{% else %}<tr><td colspan="5">no users</td></tr>{% endfor %}</table>
<form class="row" id="add-user" method="post" action="/console/users">
<label>userName<input name="userName" required></label>
<label>password<input name="password" value="password"></label>
<label>email<input name="email"></label>
<label>groups (comma-separated)<input name="groups"></label>
<button type="submit">Add user</button></form>
<form class="row" id="add-member" method="post" action="/console/members">
<label>user<select name="user">{% for u in users %}<option>{{ u.user_name }}</option>
{% endfor %}</select></label>
<label>group<input name="group" list="group-names" required></label>
<datalist id="group-names">{% for g in groups %}<option value="{{ g.name }}">{% endfor %}
</datalist><button type="submit">Add to group</button></form>

<h2 id="groups">Groups</h2>
<table><tr><th>displayName</th><th>members</th></tr>
{% for g in groups %}<tr><td>{{ g.name }}</td><td>{{ g.members|join(", ") }}</td></tr>
{% else %}<tr><td colspan="2">no groups</td></tr>{% endfor %}</table>

<h2 id="sps">Service providers</h2>
<table><tr><th>entityID</th><th>ACS (HTTP-POST)</th><th>signed requests</th>
<th>signed assertions</th><th>encryption</th><th></th></tr>
{% for sp in sps %}<tr class="sp"><td><code>{{ sp.entity_id }}</code></td>
<td>{% for acs in sp.acs %}<code>{{ acs }}</code><br>{% endfor %}</td>
<td>{{ "yes" if sp.requests_signed else "no" }}</td>
<td>{{ "yes" if sp.assertions_signed else "no" }}</td><td>{{ sp.encryption }}</td>
<td><form class="inline" method="get" action="/saml/idp-init">
<input type="hidden" name="sp" value="{{ sp.entity_id }}">
<input name="user" placeholder="userName" size="14">
<button>IdP-initiated sign-in</button></form></td></tr>
{% else %}<tr><td colspan="6">none registered</td></tr>{% endfor %}</table>

<h2 id="plan">Plan for the next responses</h2>
<table><tr><th>#</th><th>mutators</th><th>SP</th><th>remaining</th></tr>
{% for p in plan %}<tr class="planned"><td>{{ p.id }}</td><td>{% for m in p.mutators %}
<code>{{ m.name }}{% if m.params %} {{ m.params }}{% endif %}</code> {% endfor %}</td>
<td>{{ p.sp or "any" }}</td><td>{{ "sticky" if p.sticky else p.remaining }}</td></tr>
{% else %}<tr><td colspan="4">nothing planned: the next response is a good one</td></tr>
{% endfor %}</table>
<form class="row" id="plan-form" method="post" action="/console/plan">
<label>mutator<select name="mutator"><option value="">(none)</option>
{% for m in mutators %}<option value="{{ m.name }}" title="{{ m.description }}">{{ m.name }}
</option>{% endfor %}</select></label>
<label>parameters (name=value, ...)<input name="params" placeholder="seconds=7200"></label>
<label>clock skew (seconds)<input name="clock_skew" placeholder="-600" size="8"></label>
<label>SP<select name="sp"><option value="">any</option>{% for sp in sps %}
<option>{{ sp.entity_id }}</option>{% endfor %}</select></label>
<label>responses<input name="count" value="1" size="4"></label>
<label>sticky<input type="checkbox" name="sticky" value="yes"></label>
<button type="submit">Plan</button></form>
<form class="row" method="post" action="/console/plan/clear"><button>Clear the plan</button>
</form>

<h2 id="journal">Journal</h2>
<p class="muted">The newest {{ journal|length }} entries{% if kind %} of kind {{ kind }}{% endif %},
newest first. <a href="/?kind=Response">Responses only</a> · <a href="/">all</a></p>
<table><tr><th>#</th><th>time</th><th></th><th>kind</th><th>SP</th><th>user</th>
<th>verdict</th></tr>
{% for e in journal %}<tr class="entry"><td><a href="/console/journal/{{ e.seq }}">{{ e.seq }}</a>
</td><td>{{ e.time }}</td><td>{{ e.direction }}</td><td>{{ e.kind }}</td>
<td><code>{{ e.sp or "" }}</code></td><td>{{ e.user or "" }}</td>
<td class="{{ e.css }}">{{ e.verdict }}</td></tr>
{% else %}<tr><td colspan="7">empty</td></tr>{% endfor %}</table>

<h2 id="reproduce-capture">Reproduce a capture</h2>
<p class="muted">A SAMLResponse from a customer's browser (base64, XML, a form body or a URL; an
encrypted one needs <code>sso-harness replay --sp-key</code>): a scenario that replays it, for
<code>sso-harness run FILE</code>.</p>
<form method="post" action="/console/reproduce"><textarea name="capture" rows="4" cols="80"
></textarea><button type="submit">Reproduce this capture</button></form>
{% endblock %}"""

_ENTRY = """{% extends "base" %}{% block body %}
<h1>Journal entry {{ e.seq }}: {{ e.direction }} {{ e.kind }}</h1>
<table><tr><th>time</th><td>{{ e.time.isoformat() }}</td></tr>
<tr><th>SP</th><td><code>{{ e.sp or "" }}</code></td></tr>
<tr><th>user</th><td>{{ e.user or "" }}</td></tr>
<tr><th>message ID</th><td><code>{{ e.message_id or "" }}</code></td></tr>
<tr><th>InResponseTo</th><td><code>{{ e.in_response_to or "(IdP-initiated)" if e.kind ==
"Response" else e.in_response_to or "" }}</code></td></tr>
<tr><th>RelayState</th><td><code>{{ e.relay_state or "" }}</code></td></tr>
<tr><th>verdict</th><td id="verdict">{{ view.verdict }}</td></tr>
{% if e.error %}<tr><th>refusal</th><td>{{ e.error.reason }} ({{ e.error.rule }}):
{{ e.error.message }}</td></tr>{% endif %}</table>
{% if reproducible %}<p><a id="reproduce" class="button" download
href="/console/journal/{{ e.seq }}/scenario.yaml"><button>Reproduce this</button></a>
<span class="muted">a scenario file for <code>sso-harness run FILE</code></span></p>{% endif %}
{% if e.verdicts %}<h2>Verdicts</h2><table><tr><th>check</th><th>outcome</th><th>rule</th>
<th>message</th></tr>{% for v in e.verdicts %}<tr><td>{{ v.check }}</td>
<td class="{{ v.outcome }}">{{ v.outcome }}</td><td><code>{{ v.rule }}</code></td>
<td>{{ v.message }}</td></tr>{% endfor %}</table>{% endif %}
{% if view.clear_assertion %}<h2>Assertion before encryption</h2>
<pre id="clear-assertion">{{ view.clear_assertion }}</pre>{% endif %}
{% if view.message %}<h2>Message</h2><pre id="message">{{ view.message }}</pre>{% endif %}
<h2>Diff against the previous {{ e.kind }}</h2>
{% if view.previous is none %}<p class="muted">none before this one</p>
{% elif not view.diff %}<p class="muted">the same as
<a href="/console/journal/{{ view.previous.seq }}">#{{ view.previous.seq }}</a>
(IDs, instants and signature values aside)</p>
{% else %}<pre id="diff">{% for line in view.diff %}<span class="{{ 'add' if line[:1] == '+'
else 'del' if line[:1] == '-' else '' }}">{{ line }}</span>
{% endfor %}</pre>{% endif %}
{% if e.details %}<h2>Details</h2><pre>{{ details }}</pre>{% endif %}
{% endblock %}"""

_UNLOCK = """{% extends "base" %}{% block body %}
<h1>Console</h1><p>This mock IdP's control API needs its API token.</p>
<form class="row" method="post" action="/console/login">
<label>API token<input type="password" name="token" required></label>
<button type="submit">Open the console</button></form>
{% endblock %}"""

_PROBLEM = """{% extends "base" %}{% block body %}
<h1>Refused</h1><p class="fail" role="alert">{{ message }}</p>
<table><tr><th>Reason</th><td><code>{{ reason }}</code></td></tr>
<tr><th>HTTP status</th><td>{{ status }}</td></tr></table>
<p><a href="/">Back to the console</a></p>
{% endblock %}"""

_ENV = Environment(
    loader=DictLoader(
        {"base": _BASE, "home": _HOME, "entry": _ENTRY, "token": _UNLOCK, "problem": _PROBLEM}
    ),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def render_console(template: str, **context: object) -> str:
    return _ENV.get_template(template).render(**context)
