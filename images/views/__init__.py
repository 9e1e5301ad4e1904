"""Image pages, one module per feature: browse (list, detail, Hub search), pull (pull and
push jobs), build, manage (tag, untag, remove, prune), registries (admins' credentials)."""

VIEW = "images.view_image"
PULL = "images.pull_image"
BUILD = "images.build_image"
PUSH = "images.push_image"
REMOVE = "images.remove_image"
