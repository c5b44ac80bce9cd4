"""shmkv's version, one place for the installed files and shmkv_version()."""

SHMKV_VERSION = "0.2.0"
