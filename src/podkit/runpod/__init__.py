"""Typed clients for the RunPod control plane (REST v2, v1) and the serverless data plane."""
