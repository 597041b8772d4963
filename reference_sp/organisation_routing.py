"""Which organisation a sign-in belongs to: the one whose IdP issued a response, or the one
whose email domains hold the address a person typed. An IdP, and an email domain, serve one
organisation only, so that every response and every address routes to exactly one.
"""

from __future__ import annotations

from reference_sp.organisation import ConfigError, Organisation


class OrganisationRouting:
    def __init__(self) -> None:
        self._by_pk: dict[int, Organisation] = {}

    def put(self, organisation: Organisation) -> None:
        for other in self._by_pk.values():
            if other.org_pk == organisation.org_pk:
                continue
            if organisation.idp and other.idp and other.idp.entity_id == organisation.idp.entity_id:
                raise ConfigError(
                    f"organisations {other.name!r} and {organisation.name!r} trust the same IdP "
                    f"{organisation.idp.entity_id}: an IdP may serve one organisation only"
                )
            shared = set(other.email_domains) & set(organisation.email_domains)
            if shared:
                raise ConfigError(
                    f"email domain {sorted(shared)[0]!r} belongs to both {other.name!r} and "
                    f"{organisation.name!r}"
                )
        if organisation.seats < 0:
            raise ConfigError(f"seats must be 0 or more, not {organisation.seats}")
        self._by_pk[organisation.org_pk] = organisation

    def get(self, org_pk: int) -> Organisation | None:
        return self._by_pk.get(org_pk)

    def all(self) -> list[Organisation]:
        return list(self._by_pk.values())

    def by_idp(self, entity_id: str) -> Organisation | None:
        return next(
            (t for t in self._by_pk.values() if t.idp and t.idp.entity_id == entity_id), None
        )

    def by_email(self, email: str) -> Organisation | None:
        """The organisation whose email domains include the address's domain; with a single
        organisation that has an IdP and no domains configured, that one."""
        domain = email.rpartition("@")[2].strip().lower()
        for organisation in self._by_pk.values():
            if domain and domain in organisation.email_domains:
                return organisation
        with_idp = [t for t in self._by_pk.values() if t.idp is not None]
        if len(with_idp) == 1 and not with_idp[0].email_domains:
            return with_idp[0]
        return None
