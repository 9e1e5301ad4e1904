"""Channel-layer group names for jobs."""

import uuid


def job_group(job_id: uuid.UUID | str) -> str:
    return f"job.{uuid.UUID(str(job_id)).hex}"


def jobs_list_group() -> str:
    return "jobs.list"
