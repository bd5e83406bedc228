"""`make demo`: the main job, against the local RunPod."""

print("podkit demo: nothing to show yet")
