"""A feature repo changed outside the editor (a definitions.py edit and `feast apply` run in a
terminal) refreshes the feature diagnostics of open documents, with every client: the daemon
registered watchers (VS Code profile) or polls by itself (Neovim profile)."""

from __future__ import annotations

import pytest

from tests.features.conftest import feast
from tests.lsp.session import EditorFileWatcher, open_python, start, wait_for, watching_started

pytestmark = pytest.mark.every_client   # watchers registered (VS Code) or polled by the daemon (Neovim)

USES = '''from feast import FeatureStore

store = FeatureStore(repo_path="features")
training = store.get_historical_features(
    entity_df=labels,
    features=["customer_profile:age", "customer_profile:tenure_months"],
)
'''


async def test_feast_apply_in_a_terminal_refreshes_feature_diagnostics(client, example_copy):
    editor = EditorFileWatcher(client, example_copy)
    await start(client, example_copy)
    await watching_started(client)
    uri = open_python(client, example_copy / "explore.py", USES)

    def unknown() -> list[str]:
        return [d.message for d in client.diagnostics.get(uri, []) if "tenure_months" in d.message]

    await wait_for(lambda: unknown(), timeout=60)
    definitions = example_copy / "features" / "definitions.py"
    source = definitions.read_text()
    marker = 'Field(name="monthly_fee", dtype=Float64),\n'
    assert source.count(marker) == 1
    definitions.write_text(source.replace(marker, marker + '        Field(name="tenure_months", dtype=Int64),\n'))
    feast(example_copy / "features", "apply")
    editor.send_changes()
    await wait_for(lambda: uri in client.diagnostics and not unknown(), timeout=60)
