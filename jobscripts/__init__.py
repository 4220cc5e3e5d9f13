"""Slurm and PBS job-script templates for parsnn runs (installed as parsnn.jobscripts)."""
