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


def cycles(graph: grimp.ImportGraph) -> list[str]:
    """Every direct import whose target leads back to its importer, as the loop it closes."""
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                found.append(" -> ".join((importer, *back)))
    return found


def test_no_module_is_part_of_an_import_cycle(graph):
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(found)


def test_a_cycle_through_a_function_level_import_is_found():
    """The check itself: a runner that imported the job code it runs (as exports/jobs.py once did, inside a
    function) would close a cycle with the domain that registers that code."""
    graph = grimp.build_graph("app", cache_dir=None, exclude_type_checking_imports=True)
    graph.add_import(importer="app.jobs.registry", imported="app.fhir.tasks")
    assert any(c.startswith("app.jobs.registry -> app.fhir.tasks") for c in cycles(graph))


@pytest.mark.parametrize(("importer", "imported"), FORBIDDEN, ids=lambda name: name.removeprefix("app."))
def test_no_arrow_points_back(graph, importer, imported):
    chains = graph.find_shortest_chains(importer=importer, imported=imported, as_packages=True)
    assert not chains, f"{importer} must not depend on {imported}: " + "; ".join(" -> ".join(c) for c in chains)


def test_only_the_entry_points_run_the_worker_loop(graph):
    """Domains register work with app.jobs; they never drive the loop (app.main's thread and `imschart worker` do)."""
    assert graph.find_modules_that_directly_import("app.jobs.loop") <= {"app.main", "app.cli"}
    assert graph.find_modules_that_directly_import("app.tasks") <= {"app.main", "app.cli"}


def test_the_job_runner_sees_every_registered_kind():
    """The runner finds job kinds through the registry, filled in by importing app.tasks (as main and the
    worker command do), not by importing the domains itself."""
    from app import tasks  # noqa: F401
    from app.jobs import registry

    assert {k.name for k in registry.kinds()} == {"clinic", "fhir_bulk"}
    assert {q.name for q in registry.queues()} == {"webhooks"}
