"""The container permissions, by the names views and forms check them with."""

VIEW = "containers.view_container"
OPERATE = "containers.operate_container"
CREATE = "containers.create_container"
REMOVE = "containers.remove_container"
# Environment values are secrets: seeing them is a permission of its own, and audited.
SEE_ENV = "containers.view_env"
