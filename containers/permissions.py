"""The container permissions, by the names views and forms check them with."""

VIEW = "containers.view_container"
OPERATE = "containers.operate_container"
CREATE = "containers.create_container"
REMOVE = "containers.remove_container"
# Environment values are secrets: seeing them is a permission of its own, and audited.
SEE_ENV = "containers.view_env"
# A shell in a container (the Terminal tab); judged with the container by
# dockerweb.host_access.check_terminal, never by this permission alone.
OPEN_TERMINAL = "containers.open_terminal"
