"""What an XML parser of an SP must refuse or read whole: DOCTYPEs, entities, external
resources, transforms, comments and processing instructions inside signed text."""

from __future__ import annotations

from .mutation import Mutator

PARSER_MUTATORS: tuple[Mutator, ...] = ()
