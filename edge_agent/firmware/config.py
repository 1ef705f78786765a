"""The `firmware` section: when camera firmware must not be upgraded (declared busy periods).

Importing this module stays light (pydantic only); the upgrade code is loaded on first use.
"""

from __future__ import annotations

from datetime import datetime, time, tzinfo

from pydantic import Field, model_validator

from edge_agent.config_base import StrictModel


class BusyPeriod(StrictModel):
    """A weekly window in the cabinet's time zone (`health.timezone`) when cameras are needed."""

    weekdays: list[int] = Field(
        default_factory=lambda: list(range(7)),
        description="Days it applies, 0 = Monday .. 6 = Sunday (default every day).",
    )
    start: time = Field(description="Local start, HH:MM.")
    end: time = Field(description="Local end, HH:MM; before start: the window runs past midnight.")
    reason: str = Field("", max_length=200, description="Why, shown when an upgrade is refused.")

    @model_validator(mode="after")
    def _days(self) -> BusyPeriod:
        if not self.weekdays or any(day not in range(7) for day in self.weekdays):
            raise ValueError("weekdays: 0 (Monday) .. 6 (Sunday), at least one")
        return self

    def covers(self, local: datetime) -> bool:
        now = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return local.weekday() in self.weekdays and self.start <= now < self.end
        if now >= self.start:  # the evening part of a window past midnight
            return local.weekday() in self.weekdays
        return (local.weekday() - 1) % 7 in self.weekdays and now < self.end


class FirmwareConfig(StrictModel):
    busy_periods: list[BusyPeriod] = Field(
        default_factory=list, description="Declared busy periods: `pre` refuses an upgrade inside one."
    )

    def busy_at(self, local: datetime) -> BusyPeriod | None:
        """The busy period covering this local time, if any."""
        return next((period for period in self.busy_periods if period.covers(local)), None)

    def busy_now(self, tz: tzinfo) -> str | None:
        """The busy period in force now, described for the refusal, or None."""
        period = self.busy_at(datetime.now(tz))
        if period is None:
            return None
        return f"declared busy period {period.start:%H:%M}-{period.end:%H:%M} {period.reason}".strip()
