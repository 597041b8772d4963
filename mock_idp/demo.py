"""A seeded demo directory (Faker), so a fresh IdP has people to sign in as."""

from __future__ import annotations

from faker import Faker

from .directory import Directory, User

DEMO_GROUPS = ("Business Account Admins", "Engineering", "Sales")
DEMO_PASSWORD = "password"  # noqa: S105 - documented demo credential


def seed_demo_directory(
    directory: Directory, count: int, seed: int, domain: str = "example.com"
) -> list[User]:
    """``count`` users with realistic names, the first an admin; the same seed, the same people."""
    fake = Faker()
    fake.seed_instance(seed)
    created: list[User] = []
    for index in range(count):
        given, family = fake.first_name(), fake.last_name()
        user_name = f"{given}.{family}{index}@{domain}".lower()
        groups = [DEMO_GROUPS[0]] if index == 0 else [DEMO_GROUPS[1 + index % 2]]
        user = User(
            user_name=user_name,
            password=DEMO_PASSWORD,
            email=user_name,
            given_name=given,
            family_name=family,
            groups=groups,
            external_id=f"emp-{seed}-{index:04d}",
        )
        created.append(directory.add_user(user))
    return created
