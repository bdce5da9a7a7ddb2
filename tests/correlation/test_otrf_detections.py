"""OTRF's recorded LSASS dump through comsvcs.dll, with SigmaHQ's whole Windows tree loaded:
the two rules written for it fire (and the engine copes with 2,000-odd active rules)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from incidents.models import Alert
from socapp.shared_data import shared_data_dir
from tests.factories import SourceFactory

DATASET = (
    shared_data_dir()
    / "otrf/datasets/atomic/windows/credential_access/host/psh_lsass_memory_dump_comsvcs.zip"
)


@pytest.mark.django_db(transaction=True)
def test_lsass_dump_via_comsvcs_raises_sigmahqs_alerts(reference_data, capsys) -> None:
    call_command("import_sigma", "--quiet-skips", str(shared_data_dir() / "sigma/rules/windows"))
    out = capsys.readouterr().out
    assert "errors 0" in out
    call_command("ingest", "--source", SourceFactory(format="windows").name, str(DATASET))
    titles = set(Alert.objects.values_list("title", flat=True))
    assert "Lsass Memory Dump via Comsvcs DLL" in titles
    assert "Process Memory Dump Via Comsvcs.DLL" in titles
