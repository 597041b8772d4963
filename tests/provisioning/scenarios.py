"""The directory changes the golden traces and the examples exercise, on a small base directory.

Base: alice (manager of bob) and bob in Engineering, bob in Sales; carol in the directory but
not assigned. Each change is a function of the directory; some need a cycle in between
(``reactivate`` blocks first), given as ``before``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from mock_idp.directory import Directory, User

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


def base_directory(directory: Directory) -> None:
    directory.add_user(
        User(
            ALICE,
            email=ALICE,
            given_name="Alice",
            family_name="Ng",
            groups=["Engineering"],
            external_id="emp-0001",
            title="Head of Engineering",
            department="Engineering",
            employee_number="0001",
        )
    )
    directory.add_user(
        User(
            BOB,
            email=BOB,
            given_name="Bob",
            family_name="Li",
            groups=["Engineering", "Sales"],
            external_id="emp-0002",
            department="Engineering",
            employee_number="0002",
            manager=ALICE,
        )
    )
    directory.add_user(
        User(
            CAROL,
            email=CAROL,
            given_name="Carol",
            family_name="Diaz",
            external_id="emp-0003",
            assigned=False,
        )
    )


def _user(directory: Directory, name: str) -> User:
    user = directory.get_user(name)
    assert user is not None
    return user


def assign(d: Directory) -> None:
    _user(d, CAROL).assigned = True


def update_attribute(d: Directory) -> None:
    bob = _user(d, BOB)
    bob.family_name = "Lee"
    bob.display_name = "Bob Lee"
    bob.title = "Engineer"


def add_to_group(d: Directory) -> None:
    _user(d, ALICE).groups.append("Sales")


def remove_from_group(d: Directory) -> None:
    _user(d, BOB).groups.remove("Engineering")


def rename_group(d: Directory) -> None:
    d.rename_group("Engineering", "Research and Development")


def block(d: Directory) -> None:
    _user(d, BOB).active = False


def reactivate(d: Directory) -> None:
    _user(d, BOB).active = True


def unassign(d: Directory) -> None:
    _user(d, BOB).assigned = False


def delete(d: Directory) -> None:
    d.remove_user(BOB)


def delete_group(d: Directory) -> None:
    d.remove_group("Sales")


def rename_user(d: Directory) -> None:
    bob = _user(d, BOB)
    renamed = User(
        "robert@example.com",
        email="robert@example.com",
        given_name="Robert",
        family_name=bob.family_name,
        groups=list(bob.groups),
        external_id=bob.external_id,
        department=bob.department,
        employee_number=bob.employee_number,
        manager=bob.manager,
    )
    d.replace_user(BOB, renamed)


def nest_group(d: Directory) -> None:
    d.nest("Engineering", "Sales")


def nothing(d: Directory) -> None:
    pass


@dataclass(frozen=True)
class Change:
    name: str
    apply: Callable[[Directory], None]
    before: Callable[[Directory], None] | None = None  # applied and provisioned first
    cycle: str = "incremental"
    wait: dt.timedelta = dt.timedelta(0)  # clock moved forward before the recorded cycle


CHANGES: tuple[Change, ...] = (
    Change("assign", assign),
    Change("update-attribute", update_attribute),
    Change("rename-user", rename_user),
    Change("add-to-group", add_to_group),
    Change("remove-from-group", remove_from_group),
    Change("rename-group", rename_group),
    Change("block", block),
    Change("reactivate", reactivate, before=block),
    Change("unassign", unassign),
    Change("delete", delete),
    Change("delete-after-30-days", nothing, before=delete, wait=dt.timedelta(days=31)),
    Change("delete-group", delete_group),
    Change("nest-group", nest_group),
    Change("no-change-incremental", nothing),
    Change("no-change-initial", nothing, cycle="initial"),
)
