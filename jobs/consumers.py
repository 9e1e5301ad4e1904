"""Watching jobs live: one job's progress, or the list of jobs."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dockerweb import engines
from dockerweb.stream_limits import StreamSlot
from dockerweb.ws_auth import user_may
from jobs.groups import job_group, jobs_list_group
from jobs.models import Job
from jobs.runner import ensure_reaper

VIEW = "jobs.view_job"


@database_sync_to_async
def _snapshot(job_id) -> dict | None:
    # Only a job of the socket's engine (grants are per engine).
    job = Job.objects.filter(pk=job_id, engine=engines.current_name()).first()
    if job is None:
        return None
    return {
        "type": "job",
        "id": str(job.pk),
        "status": job.status,
        "progress": job.progress,
        "output": job.output,
        "lines_total": job.lines_total,
        "error": job.error,
        "result": job.result,
        "finished": job.is_finished,
        "snapshot": True,
    }


class JobConsumer(StreamSlot, AsyncJsonWebsocketConsumer):
    """Re-attaches a watcher to a job: the recorded state first, then live updates."""

    async def connect(self):
        if not await user_may(self.scope, VIEW):
            await self.close()
            return
        if not await self.take_stream_slot():
            return
        ensure_reaper()  # a job of a process that died must end here too, live
        self.job_id = self.scope["url_route"]["kwargs"]["job_id"]
        self.group = job_group(self.job_id)
        # Join before reading the record, so nothing falls between the two.
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await _snapshot(self.job_id)
        if snapshot is None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close()
            return
        await self.accept()
        await self.send_json(snapshot)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def live_message(self, message):
        await self.send_json(message["payload"])


class JobListConsumer(AsyncJsonWebsocketConsumer):
    """Tells the Jobs page when a job starts or ends."""

    async def connect(self):
        if not await user_may(self.scope, VIEW):
            await self.close()
            return
        ensure_reaper()
        await self.channel_layer.group_add(jobs_list_group(), self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(jobs_list_group(), self.channel_name)

    async def live_message(self, message):
        await self.send_json(message["payload"])
