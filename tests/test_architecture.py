"""The import graph stays a graph a newcomer can follow: no cycles, and no arrow pointing back up.

grimp reads every `import` statement under app/ (at module level and inside functions alike), so an import
tucked into a function to dodge a cycle is still seen. Imports under `if TYPE_CHECKING:` never run and are
left out.
"""

from __future__ import annotations

import grimp
import pytest

# (importer, imported): the direction that must not exist. clinic and patients used to import each other,
# as did exports and fhir: patients may ask the clinic (its date, its settings), exports may render FHIR,
# never the other way round. The job runner knows no domain: the domains register with it.
FORBIDDEN = [
    ("app.clinic", "app.patients"),
    ("app.fhir", "app.exports"),
    *[("app.jobs", domain) for domain in ("app.exports", "app.fhir", "app.integrations")],
    ("app.kit", "app.jobs"),
]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("app", cache_dir=None, exclude_type_checking_imports=True)


def test_no_module_is_part_of_an_import_cycle(graph):
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycles.append(" -> ".join((importer, *back)))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize(("importer", "imported"), FORBIDDEN, ids=lambda name: name.removeprefix("app."))
def test_no_arrow_points_back(graph, importer, imported):
    chains = graph.find_shortest_chains(importer=importer, imported=imported, as_packages=True)
    assert not chains, f"{importer} must not depend on {imported}: " + "; ".join(" -> ".join(c) for c in chains)


def test_the_job_runner_sees_every_registered_kind():
    """The runner finds job kinds through the registry, filled in by importing app.tasks (as main and the
    worker command do), not by importing the domains itself."""
    from app import tasks  # noqa: F401
    from app.jobs import registry

    assert {k.name for k in registry.kinds()} == {"clinic", "fhir_bulk"}
    assert {q.name for q in registry.queues()} == {"webhooks"}
