"""The engines stored on the Engines page, as specs the registry (dockerweb/engines.py) uses."""

import logging

from django.db import DatabaseError

from dockerweb import secret_box
from dockerweb.engine_specs import EngineSpec, SshMaterial, TlsMaterial

from .models import EngineConfig

log = logging.getLogger(__name__)


def load_stored_specs(timeout: float) -> dict[str, EngineSpec]:
    try:
        configs = list(EngineConfig.objects.all())
    except DatabaseError:  # not migrated yet (manage.py migrate itself, a fresh install)
        return {}
    specs = {}
    for config in configs:
        try:
            specs[config.name] = spec_of(config, timeout)
        except ValueError:
            # Stored with another encryption key (DOCKERWEB_ENCRYPTION_KEY changed): this one
            # engine is unusable until an administrator gives its keys again; the others work.
            log.warning("engine %s: its stored keys can't be decrypted; skipped", config.name)
    return specs


def spec_of(config: EngineConfig, timeout: float) -> EngineSpec:
    tls = ssh = None
    if config.tls_ca:
        tls = TlsMaterial(
            ca=secret_box.decrypt(config.tls_ca),
            cert=secret_box.decrypt(config.tls_cert),
            key=secret_box.decrypt(config.tls_key),
        )
    if config.ssh_key:
        ssh = SshMaterial(key=secret_box.decrypt(config.ssh_key), host_key=config.ssh_host_key)
    return EngineSpec(config.name, config.address, timeout, tls, ssh, declared=False)
