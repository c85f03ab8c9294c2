"""Password hashing: argon2id (argon2-cffi), behind the engine's ``PasswordHasher`` port.

The parameters are argon2-cffi's defaults (RFC 9106's second recommended option: 3 passes over
64 MiB, 4 lanes) unless a test installs cheaper ones through ``PARAMETERS`` before the app builds
its hasher: the suite hashes hundreds of passwords and must stay fast. A hash made with other
parameters still verifies, and is replaced with a current one at the next sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher as Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    """argon2id's cost: passes, memory (KiB) and lanes."""

    time_cost: int = 3
    memory_cost: int = 65536
    parallelism: int = 4


#: What production hashes with.
STANDARD = Argon2Parameters()
#: What the tests hash with: argon2id still, at a fraction of a millisecond.
CHEAP = Argon2Parameters(time_cost=1, memory_cost=8, parallelism=1)
#: The parameters ``argon2_hasher()`` uses when given none (tests set ``CHEAP`` here).
PARAMETERS = STANDARD


class Argon2Hasher:
    """``engine.services.accounts.PasswordHasher`` on argon2-cffi."""

    def __init__(self, parameters: Argon2Parameters) -> None:
        self._argon2 = Argon2(
            time_cost=parameters.time_cost, memory_cost=parameters.memory_cost, parallelism=parameters.parallelism
        )

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        try:
            return self._argon2.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError, UnicodeError):
            return False

    def needs_rehash(self, hashed: str) -> bool:
        try:
            return self._argon2.check_needs_rehash(hashed)
        except (InvalidHashError, ValueError):
            return True


def argon2_hasher(parameters: Argon2Parameters | None = None) -> Argon2Hasher:
    """The password hasher, with ``parameters`` or the module's ``PARAMETERS``."""
    return Argon2Hasher(parameters or PARAMETERS)
