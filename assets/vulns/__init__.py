"""Vulnerability scanner reports (Nessus, OpenVAS/Greenbone, CSV) as findings on the
inventory's assets, and the lookup alerts use to tell whether an asset is exposed to a
CVE an IDS signature names. docs/ASSETS.md, "Vulnerabilities"."""
