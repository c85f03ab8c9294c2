"""All settings, read from ``CAREPATH_*`` environment variables (and a ``.env`` file).

``CAREPATH_SMTP__HOST`` sets ``settings.smtp.host``: nested settings use ``__``.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from carepath.engine.conventions import DEFAULT_CONVENTIONS


class SmtpSettings(BaseModel):
    """Outgoing mail. With no host, ``carepath run`` starts its own mail catcher."""

    host: str | None = None
    port: int = 587
    username: str | None = None
    password: SecretStr | None = None
    security: Literal["starttls", "tls", "none"] = "starttls"
    sender: str = "carepath@localhost"
    timeout: float = 30.0


class CatcherSettings(BaseModel):
    """The built-in mail catcher used when no SMTP host is set."""

    host: str = "127.0.0.1"
    port: int = 8025


class Settings(BaseSettings):
    """carepath's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="CAREPATH_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    database_url: str = "sqlite:///carepath.db"
    workflows_dir: Path | None = Field(
        default=None, description="folder of <journey>.v<N>.yaml files (default: the shipped ones)"
    )
    calendar_subdiv: Literal["ENG", "WLS", "SCT", "NIR"] = "ENG"
    base_url: str = "http://localhost:8000"
    user: str | None = Field(default=None, description="email of the person using the CLI")
    smtp: SmtpSettings = SmtpSettings()
    catcher: CatcherSettings = CatcherSettings()
    conventions: dict[str, Literal["after", "beginning_with"]] = Field(
        default_factory=lambda: dict(DEFAULT_CONVENTIONS),
        description="counting conventions the regulations leave open; see docs/conventions.md",
    )
    sweep_interval_seconds: float = 30.0
    dispatch_interval_seconds: float = 10.0
    timer_lease_seconds: float = 300.0
    digest_time: time = time(7, 30)
    single_breach_emails: bool = False
    local_procedures: dict[str, str] = Field(
        default_factory=dict,
        description="this council's procedure cited as the source of LOCAL rules, as JSON: "
        '{"*": "...", "FS17": "...", "foster_carer_approval.FS1": "..."}; see config/procedures.py',
    )
    mail_max_attempts: int = 8
