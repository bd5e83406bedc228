"""Deploys: desired state, preflight, plan, execute, verify, record."""
