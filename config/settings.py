"""All settings, read from ``CAREPATH_*`` environment variables (and a ``.env`` file).

``CAREPATH_SMTP__HOST`` sets ``settings.smtp.host``: nested settings use ``__``.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Literal

from pydantic import BaseModel, DirectoryPath, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from carepath.engine.conventions import DEFAULT_CONVENTIONS
from carepath.engine.errors import InvalidInput

#: A TCP port.
Port = Annotated[int, Field(ge=1, le=65535)]


class SmtpSettings(BaseModel):
    """Outgoing mail. With no host, ``carepath run`` starts its own mail catcher."""

    host: str | None = None
    port: Port = 587
    username: str | None = None
    password: SecretStr | None = None
    security: Literal["starttls", "tls", "none"] = "starttls"
    sender: str = "carepath@localhost"
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("sender")
    @classmethod
    def _one_plain_address(cls, value: str) -> str:
        """The From address is one plain ``local@domain`` (no display name): what the mail builder sends."""
        from carepath.notifications.mime import BadAddress, plain_address

        try:
            return plain_address(value)
        except BadAddress as exc:
            raise ValueError(str(exc)) from None


class CatcherSettings(BaseModel):
    """The built-in mail catcher used when no SMTP host is set."""

    host: str = "127.0.0.1"
    port: Port = 8025


class WebSettings(BaseModel):
    """The web app and API (``carepath web``, and ``carepath run`` beside the scheduler)."""

    host: str = "127.0.0.1"
    port: Port = 8000
    council_name: str = Field(default="Example Council", min_length=1, max_length=80)
    #: Signs the session cookie; share it between app processes. Unset: a random key per process
    #: (sessions then end when the process restarts, and need one process).
    secret_key: SecretStr | None = None

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError(
                "use at least 32 random characters (python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return value


class ReportSettings(BaseModel):
    """Targets and thresholds the reports measure against (domain.md §6; ``CAREPATH_REPORTS__*``)."""

    #: The local target for fostering enquiries becoming applications (a fraction: 0.15 is 15%).
    target_conversion: float = Field(default=0.15, gt=0, le=1)
    #: The scorecard's A1 and A10 threshold: 14 months, as days (DfE 2013-16).
    a1_threshold_days: int = Field(default=426, ge=1, le=3650)
    #: The scorecard's A2 threshold: 4 months, as days (DfE 2013-16).
    a2_threshold_days: int = Field(default=121, ge=1, le=3650)


class Settings(BaseSettings):
    """carepath's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="CAREPATH_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    database_url: str = "sqlite:///carepath.db"
    workflows_dir: DirectoryPath | None = Field(
        default=None, description="folder of <journey>.v<N>.yaml files (default: the shipped ones)"
    )
    calendar_subdiv: Literal["ENG", "WLS", "SCT", "NIR"] = "ENG"
    base_url: str = "http://localhost:8000"
    user: str | None = Field(default=None, description="email of the person using the CLI")
    smtp: SmtpSettings = SmtpSettings()
    catcher: CatcherSettings = CatcherSettings()
    web: WebSettings = WebSettings()
    reports: ReportSettings = ReportSettings()
    conventions: dict[str, Literal["after", "beginning_with"]] = Field(
        default_factory=lambda: dict(DEFAULT_CONVENTIONS),
        description="counting conventions the regulations leave open; see docs/conventions.md",
    )
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    dispatch_interval_seconds: float = Field(default=10.0, gt=0)
    timer_lease_seconds: float = Field(default=300.0, gt=0)
    digest_time: time = time(7, 30)
    single_breach_emails: bool = False
    local_procedures: dict[str, str] = Field(
        default_factory=dict,
        description="this council's procedure cited as the source of LOCAL rules, as JSON: "
        '{"*": "...", "FS17": "...", "foster_carer_approval.FS1": "..."}; see config/procedures.py',
    )
    mail_max_attempts: int = Field(default=8, ge=1)
    panel_joint_quorum: int = Field(
        default=6, ge=1, le=20, description="members a joint panel needs (domain.md 5.1: VERIFY against FSR 24 / AAR 6)"
    )

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not re.match(r"^(sqlite://|postgres(ql)?(\+psycopg)?://)", value):
            raise ValueError("use sqlite:///FILE or postgresql://USER@HOST/DB")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/?#]+\S*", value):
            raise ValueError("use an http:// or https:// address, like https://carepath.council.example")
        return value


def load_settings() -> Settings:
    """The settings from the environment; a bad value is one ``InvalidInput`` line naming its variable.

    The message never echoes the value (it may be a secret, long, or hold control characters).
    """
    try:
        return Settings()
    except ValidationError as exc:
        faults = [f"{_variable(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        raise InvalidInput("bad setting " + "; ".join(faults)) from None
    except SettingsError as exc:  # a nested or JSON setting that does not parse
        field = str(exc).split('"')[1] if str(exc).count('"') >= 2 else "?"
        raise InvalidInput(f"bad setting {_variable((field,))}: not valid JSON") from None


def _variable(loc: tuple[int | str, ...]) -> str:
    """``("smtp", "port")`` as its environment variable, ``CAREPATH_SMTP__PORT``."""
    return "CAREPATH_" + "__".join(str(p).upper() for p in loc)
