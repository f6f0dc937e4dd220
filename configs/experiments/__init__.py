"""The papers' experiments, one file each (`jaxstyle.experiments`)."""
