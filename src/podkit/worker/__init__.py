"""The worker that runs in the GPU container under the runpod SDK."""
