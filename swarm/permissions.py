"""The swarm permissions, by the names views and sockets check them with.

Viewer: VIEW. Operator: VIEW and the service changes. Node changes (drain a node, its
labels) move every service's tasks: no role holds MANAGE_NODE, administrators do.
"""

VIEW = "swarm.view_swarm"
CREATE = "swarm.create_service"
CHANGE = "swarm.change_service"
REMOVE = "swarm.remove_service"
MANAGE_NODE = "swarm.manage_node"
