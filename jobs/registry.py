"""What apps above jobs plug into it, registered from their AppConfig.ready().

- `job_summaries`: how a kind of job says what it did. A job's `result` is whatever its task stored
  (counts, ids); the job page shows it through the summary registered for the job's kind, in words
  and with links back to what the job worked on (the import, the products, the store). A kind
  nobody registered gets `summary_from_result`: its result's keys and values as sentences, never a
  raw dictionary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.registry import Registry


@dataclass(frozen=True)
class JobSummary:
    lines: list[str] = field(default_factory=list)  # sentences, e.g. "2,050 rows read."
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, url) of what the job worked on


JobSummarizer = Callable[[Any], JobSummary]  # called with the WorkerJob

job_summaries: Registry[JobSummarizer] = Registry("jobs.job_summaries")


def job_summary_register(kind: str, summarizer: JobSummarizer) -> JobSummarizer:
    return job_summaries.register(kind, summarizer)


def _words(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return "; ".join(f"{_words(str(k)).lower()} {_value(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) or "none"
    return "—" if value in (None, "") else str(value)


def summary_from_result(result: dict[str, Any]) -> JobSummary:
    """A readable summary of any result: one sentence per key ("Rows: 2,050.")."""
    return JobSummary(lines=[f"{_words(str(k))}: {_value(v)}." for k, v in (result or {}).items()])


def job_summary(job: Any) -> JobSummary:
    """The job's summary through its kind's summarizer (or the generic one); a summarizer that fails
    never breaks the job page."""
    summarizer = job_summaries.get(job.kind)
    if summarizer is not None:
        try:
            return summarizer(job)
        except Exception:  # a page about a job must show even if its summary cannot be made
            logging.getLogger(__name__).exception("jobs.summary.failed", extra={"job_id": job.pk})
    return summary_from_result(job.result)
