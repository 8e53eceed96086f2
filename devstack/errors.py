"""One error hierarchy: every expected failure carries a message, a hint and an exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    DOCTOR_FAILED = 1  # `devstack doctor`: at least one check failed
    USAGE = 2  # usage or configuration error
    ENGINE = 3  # Docker engine or compose unavailable
    UNHEALTHY = 4  # a service failed to become healthy
    MIGRATION = 5  # the migration command failed
    COMPOSE = 6  # build or compose failure
    PROJECT_IN_USE = 7  # the compose project name is taken by a stack of another directory
    IMAGE_UNAVAILABLE = 8  # an image cannot be pulled (registry unreachable, no such image)
    INTERRUPTED = 130


class DevstackError(Exception):
    """An expected failure, shown to the user as a message and a hint, never a traceback."""

    exit_code: ExitCode = ExitCode.COMPOSE

    def __init__(self, message: str, *, hint: str | None = None, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details  # extra text (health output, log lines) shown under the message


class ConfigError(DevstackError):
    exit_code = ExitCode.USAGE


class EngineUnavailable(DevstackError):
    exit_code = ExitCode.ENGINE


class EngineTimeout(EngineUnavailable):
    """An engine command did not finish in time; keeps the command."""

    def __init__(self, message: str, *, command: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.command = command


class ServiceUnhealthy(DevstackError):
    exit_code = ExitCode.UNHEALTHY


class MigrationFailed(DevstackError):
    exit_code = ExitCode.MIGRATION


class ComposeError(DevstackError):
    """A compose or build command failed; keeps the command, its exit code and stderr."""

    exit_code = ExitCode.COMPOSE

    def __init__(
        self,
        message: str,
        *,
        command: list[str] | None = None,
        return_code: int | None = None,
        stderr: str = "",
        output: str = "",
        step_log: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, details=stderr.strip())
        self.step_log = step_log  # a failed build step's last lines, which `details` opens with
        self.command = command or []
        self.return_code = return_code
        self.stderr = stderr
        self.output = output  # what the command printed on stdout (compose's build logs)


class Interrupted(DevstackError):
    exit_code = ExitCode.INTERRUPTED


class ProjectInUse(DevstackError):
    """The project name belongs to containers made from another directory (another checkout)."""

    exit_code = ExitCode.PROJECT_IN_USE


class ImageUnavailable(DevstackError):
    """An image is neither local nor pullable; keeps the image, the registry and the service."""

    exit_code = ExitCode.IMAGE_UNAVAILABLE

    def __init__(
        self,
        message: str,
        *,
        image: str = "",
        registry: str = "",
        service: str = "",
        hint: str | None = None,
        details: str = "",
    ) -> None:
        super().__init__(message, hint=hint, details=details)
        self.image = image
        self.registry = registry
        self.service = service
