"""Forms of the image pages: each checks everything before the engine is called."""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from dockerweb import gateway
from dockerweb.parsing import ENV_KEY_RE, parse_key_values
from dockerweb.references import IMAGE_ID_RE, REFERENCE_RE, reference_problem
from dockerweb.sizes import human_size
from images import build_context, image_reach
from images.build_context import BuildContext, ContextProblem, MissingDockerfile

TAG_SEPARATORS = re.compile(r"[\s,]+")
MAX_TAGS = 20


class BuildForm(forms.Form):
    """`docker build -t name:tag`: a typed Dockerfile or an uploaded context, tags, args.

    Once valid, `build_context` holds the tar to send to the engine.
    """

    build_context: BuildContext | None = None

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # What the build may fetch depends on who asks (images.image_reach).
        self.user = user

    dockerfile_text = forms.CharField(
        label="Dockerfile",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 10, "spellcheck": "false", "placeholder": "FROM busybox\nRUN …"}
        ),
        help_text="Type a Dockerfile, or upload a build context below (not both).",
    )
    context = forms.FileField(
        label="Build context",
        required=False,
        widget=forms.FileInput(attrs={"accept": ".tar,.tar.gz,.tgz,.zip"}),
        help_text="A tar, tar.gz or zip of the directory to build.",
    )
    dockerfile = forms.CharField(
        label="Dockerfile path",
        max_length=512,
        initial="Dockerfile",
        help_text="Where the Dockerfile is inside the build context.",
    )
    tags = forms.CharField(
        label="Tags",
        max_length=4096,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "example:01"}),
        help_text="One or more name:tag, separated by spaces or commas.",
    )
    buildargs = forms.CharField(
        label="Build arguments",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "VERSION=1.2"}),
        help_text="One KEY=VALUE per line, for the Dockerfile's ARG instructions.",
    )
    nocache = forms.BooleanField(
        label="No cache", required=False, help_text="Run every step again."
    )

    def clean_dockerfile(self):
        try:
            return build_context.clean_path(self.cleaned_data["dockerfile"])
        except ContextProblem as exc:
            raise ValidationError(str(exc)) from None

    def clean_tags(self):
        tags: list[str] = []
        errors = []
        for tag in TAG_SEPARATORS.split(self.cleaned_data["tags"].strip()):
            problem = reference_problem(tag)
            match = REFERENCE_RE.match(tag)
            if problem:
                errors.append(f"“{tag}”: {problem}")
            elif IMAGE_ID_RE.match(tag) or not match or match.group("digest"):
                errors.append(f"“{tag}”: a build is tagged name:tag, not with an id or digest.")
            elif not match.group("tag"):
                errors.append(f"“{tag}” needs a tag: name:tag (for example {tag}:latest).")
            elif tag not in tags:
                tags.append(tag)
        if errors:
            raise ValidationError(errors)
        if len(tags) > MAX_TAGS:
            raise ValidationError(f"At most {MAX_TAGS} tags.")
        return tags

    def clean_buildargs(self):
        return parse_key_values(
            self.cleaned_data["buildargs"], what="build argument", key_re=ENV_KEY_RE
        )

    def clean_context(self):
        upload = self.cleaned_data["context"]
        limit = settings.BUILD_UPLOAD_LIMIT
        # Django keeps large uploads in a temporary file whatever their size: the limit
        # is checked here, before the archive is read.
        if upload and upload.size > limit:
            raise ValidationError(
                f"The build context is larger than the {human_size(limit)} limit."
            )
        return upload

    def clean(self):
        data = super().clean()
        text = data.get("dockerfile_text", "")
        upload = data.get("context")
        if "context" in self.errors:
            return data
        if text and upload:
            raise ValidationError("Type a Dockerfile or upload a build context, not both.")
        if not text and not upload:
            raise ValidationError("Type a Dockerfile or upload a build context.")
        dockerfile = data.get("dockerfile")
        if not dockerfile:
            return data
        field = "dockerfile_text" if text else "context"
        try:
            if text:
                self.build_context = build_context.from_dockerfile_text(text, dockerfile)
            else:
                self.build_context = build_context.from_upload(
                    upload.read(), dockerfile, limit=settings.BUILD_UPLOAD_LIMIT
                )
                text = build_context.read_dockerfile(self.build_context, dockerfile)
        except MissingDockerfile as exc:
            self.add_error("dockerfile", str(exc))
        except ContextProblem as exc:
            self.add_error("context", str(exc))
        else:
            self._check_reach(text, field)
        return data

    def _check_reach(self, dockerfile: str, field: str) -> None:
        """What the build would fetch from the host's own network (images.image_reach)."""
        try:
            problems = image_reach.build_problems(
                self.user, dockerfile, self.cleaned_data.get("buildargs") or {}
            )
        except gateway.GatewayError as exc:
            problems = [f"The engine can't say which base images it has: {exc}"]
        for problem in problems:
            self.add_error(field, problem)
