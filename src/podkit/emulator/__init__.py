"""Local RunPod: control plane (v2, v1), serverless data plane and real SDK workers."""
