"""A seeded demo directory (Faker): realistic people in departments with managers, so a fresh
IdP has people to sign in as and to provision. The same seed gives the same people.

Shape: the first user heads the company and, with the second, belongs to the admin group
"Business Account Admins"; every department has a head reporting to the first user, and the
others report to their department's head. Department groups ("Engineering", "Sales", ...) hold
their people. Everyone is assigned to the app, active, with the password ``DEMO_PASSWORD``.
"""

from __future__ import annotations

from faker import Faker

from .directory import Directory, User

ADMIN_GROUP = "Business Account Admins"
DEPARTMENTS = ("Engineering", "Sales", "Support", "Finance")
DEMO_GROUPS = (ADMIN_GROUP, *DEPARTMENTS)
DEMO_PASSWORD = "password"  # noqa: S105 - documented demo credential
ADMINS = 2  # the first two people are business-account admins


def _unique_user_name(fake: Faker, directory: Directory, domain: str) -> tuple[str, str, str]:
    for attempt in range(100):
        given, family = fake.first_name(), fake.last_name()
        base = f"{given}.{family}".lower().replace(" ", "").replace("'", "")
        user_name = f"{base}{attempt or ''}@{domain}"
        if directory.get_user(user_name) is None:
            return given, family, user_name
    raise RuntimeError("could not find a free demo userName")  # pragma: no cover


def seed_demo_directory(
    directory: Directory, count: int, seed: int, domain: str = "example.com"
) -> list[User]:
    """``count`` people (see the module docstring); the same seed, the same people."""
    fake = Faker()
    fake.seed_instance(seed)
    created: list[User] = []
    heads: dict[str, str] = {}
    for index in range(count):
        given, family, user_name = _unique_user_name(fake, directory, domain)
        if index == 0:
            department, title, manager = "Management", "Chief Executive Officer", None
        else:
            department = DEPARTMENTS[(index - 1) % len(DEPARTMENTS)]
            if department not in heads:
                title, manager = f"Head of {department}", created[0].user_name
                heads[department] = user_name
            else:
                title, manager = fake.job(), heads[department]
        groups = [ADMIN_GROUP] if index < ADMINS else []
        if department in DEPARTMENTS:
            groups.append(department)
        user = User(
            user_name=user_name,
            password=DEMO_PASSWORD,
            email=user_name,
            given_name=given,
            family_name=family,
            groups=groups,
            external_id=f"emp-{seed}-{index:04d}",
            title=title[:64],
            department=department,
            employee_number=f"{seed % 1000:03d}{index:05d}",
            manager=manager,
        )
        created.append(directory.add_user(user))
    return created
