from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from dockerweb import engines
from dockerweb.htmx import render_page_or_partial
from jobs.models import Job
from jobs.runner import mark_interrupted

VIEW = "jobs.view_job"


@require_GET
@permission_required(VIEW, raise_exception=True)
def job_list(request):
    mark_interrupted()
    context = {"jobs": Job.objects.filter(engine=engines.current_name())[:100]}
    return render_page_or_partial(request, "jobs/list.html", "jobs/_job_rows.html", context)


@require_GET
@permission_required(VIEW, raise_exception=True)
def job_detail(request, job_id):
    mark_interrupted()
    # A job is seen under the engine it ran on only (grants are per engine).
    job = get_object_or_404(Job, pk=job_id, engine=engines.current_name())
    return render(request, "jobs/detail.html", {"job": job})
