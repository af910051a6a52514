"""The shared error hierarchy. Components derive their own errors from `EstateWatchError`."""

from __future__ import annotations

from dataclasses import dataclass


class EstateWatchError(Exception):
    """Base of every error EstateWatch raises on purpose."""


@dataclass(frozen=True)
class ConfigIssue:
    """One thing wrong with a configuration file, located as precisely as we can."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class ConfigError(EstateWatchError):
    """A configuration file is unreadable or invalid; `issues` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class PayloadError(EstateWatchError):
    """An MQTT payload does not match the contract. `reason` names the field at fault."""

    def __init__(self, topic: str, reason: str) -> None:
        self.topic = topic
        self.reason = reason
        super().__init__(f"{topic}: {reason}")
