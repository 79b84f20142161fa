"""`nsim fleet parse` and `nsim fleet replay` as functions: sniff, group by host, one task per host.

Both take a connected Dask client (see `nsim.fleet.tasks.connect`). Inputs are read by the
workers, so they must be at the same paths there (a shared file system).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from distributed import Client

from nsim.fleet.inputs import Group, Inputs, Sniff, expand, group, sniff
from nsim.fleet.partitions import Written, write_partitions
from nsim.fleet.tasks import Outcome, Task, run_tasks
from nsim.logs.reader import Counts
from nsim.logs.record import Diagnostic
from nsim.model.config import HostConfig
from nsim.replay.run import ReplayResult, replay

# Files sniffed per task.
SNIFF_BATCH = 32


@dataclass
class FleetReport:
    """How the fleet run went: inputs, tasks, inputs read more than once, inputs not read."""

    inputs: list[str]
    tasks: int = 0
    """Host tasks run (the first pass that reads each file's head is not counted)."""
    retried: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    """(input, why): unreadable files, patterns that matched none, tasks that never finished."""
    apart: list[tuple[str, str]] = field(default_factory=list)
    """(input, why): files read alone, not with the files they shared a task with, because
    that task never finished (why); one bad file costs only itself."""

    def to_json(self) -> dict[str, Any]:
        return {"inputs": len(self.inputs), "tasks": self.tasks, "retried": self.retried,
                "apart": [{"input": p, "because": why} for p, why in self.apart],
                "unreadable": [{"input": p, "error": why} for p, why in self.unreadable]}

    def to_text(self, unreadable: bool = True) -> str:
        """The report; without the `unreadable` lines where each was already said on stderr."""
        out = [f"Fleet: {len(self.inputs)} input(s), {self.tasks} task(s)"]
        out.extend(f"  retried: {p}" for p in self.retried)
        out.extend(f"  read alone: {p} (its task failed: {why})" for p, why in self.apart)
        if unreadable:
            out.extend(f"  unreadable: {p}: {why}" for p, why in self.unreadable)
        return "\n".join(out) + "\n"


@dataclass
class FleetReplay:
    """The merged replay (as `nsim replay` would return it) and the fleet report."""

    result: ReplayResult
    fleet: FleetReport


@dataclass
class FleetParse:
    """Counts and problems of all inputs, the part files written, and the fleet report."""

    written: Written
    fleet: FleetReport


Progress = Callable[[str], None] | None
"""Told now and then how far a long run is (see `run_tasks`)."""


def _sniff_all(client: Client, files: list[str], fmt: str, year: int | None,
               report: FleetReport, errors: list[tuple[str, str]], progress: Progress) -> list[Sniff]:
    """The head of every file; files refused or whose sniff task never finished are errors."""
    batches = [files[i:i + SNIFF_BATCH] for i in range(0, len(files), SNIFF_BATCH)]
    outcome = run_tasks(client, [Task(f"nsim-sniff-{i}", sniff, (batch, fmt, year), _about(batch))
                                 for i, batch in enumerate(batches)], progress)
    found: list[Sniff] = []
    failed: list[tuple[tuple[str, ...], str]] = []
    for i, batch in enumerate(batches):
        name = f"nsim-sniff-{i}"
        if name in outcome.retried:
            report.retried.extend(batch)
        if name in outcome.results:
            found.extend(outcome.results[name])
        else:
            failed.append((tuple(batch), outcome.failed[name]))
    alone = _one_by_one(client, failed, "sniff", lambda p: (sniff, ([p], fmt, year)), report,
                        errors, progress)
    found.extend(s for path in alone for s in alone[path])
    order = {p: i for i, p in enumerate(files)}
    found.sort(key=lambda s: order[s.path])
    errors.extend((s.path, s.error) for s in found if s.error is not None)
    return found


def _one_by_one(client: Client, failed: Sequence[tuple[tuple[str, ...], str]], kind: str,
                task_for: Callable[[str], tuple[Callable[..., Any], tuple[Any, ...]]],
                report: FleetReport, errors: list[tuple[str, str]],
                progress: Progress) -> dict[str, Any]:
    """Run each file of the failed tasks (paths, why) in a task of its own, and those that fail
    again once more one at a time: a file that kills its worker then costs only itself.
    Results by path; files failing alone are errors."""
    tasks = []
    for paths, why in failed:
        if len(paths) == 1:
            errors.extend(_not_processed(paths, why))
            continue
        for path in paths:
            func, args = task_for(path)
            tasks.append(Task(f"nsim-alone-{kind}-{Path(path).name}-{len(tasks)}", func, args,
                              path))
    outcome = run_tasks(client, tasks, progress) if tasks else Outcome()
    lost = [t for t in tasks if t.name not in outcome.results]
    if len(lost) > 1:  # a dying worker takes the tasks queued on it along: one at a time now
        for task in lost:
            again = run_tasks(client, [task], progress)
            outcome.results.update(again.results)
            outcome.failed.update(again.failed)
            outcome.retried |= again.retried
    results = {}
    for task in tasks:
        path = task.about
        if task.name in outcome.retried:
            report.retried.append(path)
        if task.name in outcome.results:
            results[path] = outcome.results[task.name]
        else:
            errors.extend(_not_processed([path], outcome.failed[task.name]))
    return results


def _host_results(groups: Sequence[Group], done: dict[tuple[str, ...], Any],
                  failed: Sequence[tuple[tuple[str, ...], str]], alone: dict[str, Any],
                  report: FleetReport) -> list[Any]:
    """Each group's result, in group order, or else the results of its files read alone
    (counted as tasks and listed as read apart, with why their group's task failed)."""
    for paths, why in failed:
        if len(paths) > 1:
            report.tasks += len(paths)
            report.apart.extend((p, why) for p in paths if p in alone)
    return [part for g in groups for part in ([done[g.paths]] if g.paths in done
                                              else [alone[p] for p in g.paths if p in alone])]


def _about(paths: Sequence[str]) -> str:
    return paths[0] + (f" (+{len(paths) - 1} file(s))" if len(paths) > 1 else "")


def _start(patterns: Iterable[str]) -> tuple[Inputs, FleetReport, list[tuple[str, str]]]:
    """The inputs, a report listing patterns that matched nothing, and those as errors."""
    inputs = expand(patterns)
    report = FleetReport(inputs.files)
    why = "no file matches this pattern"
    report.unreadable.extend((p, why) for p in inputs.unmatched)
    return inputs, report, [(p, why) for p in inputs.unmatched]


def _note_retried(groups: Sequence[Group], outcome: Outcome, report: FleetReport) -> None:
    for g in groups:
        if _task_name(g) in outcome.retried:
            report.retried.extend(g.paths)


def _not_processed(paths: Iterable[str], why: str) -> list[tuple[str, str]]:
    return [(p, f"not processed: {why}") for p in paths]


def _task_name(g: Group) -> str:
    return f"nsim-{g.name}"


def _finish(report: FleetReport, files: Sequence[str], own: Sequence[tuple[str, str]],
            errors: list[str], diagnostics: list[Diagnostic]) -> None:
    """Add the fleet's `own` errors (input, why: refused, not processed) to `errors` and, to be
    shown like the reader's, to `diagnostics`; list the inputs that could not be read (errors
    read `<path>: <why>`); put retried inputs and diagnostics in input order, as the
    single-machine commands print them."""
    errors.extend(f"{path}: {why}" for path, why in own)
    diagnostics.extend(Diagnostic(source=path, line=None, message=why) for path, why in own)
    for path in files:
        report.unreadable.extend((path, e[len(path) + 2:]) for e in errors
                                 if e.startswith(f"{path}: "))
    retried = set(report.retried)
    report.retried = [p for p in files if p in retried]
    order = {p: i for i, p in enumerate(files)}
    diagnostics.sort(key=lambda d: order.get(d.source, len(order)))


def fleet_replay(client: Client, patterns: Iterable[str], config: HostConfig | None = None,
                 fmt: str = "auto", year: int | None = None, progress: Progress = None) -> FleetReplay:
    """Replay every host's files in its own task and merge the results in `nsim replay`'s order.

    If a file turns out to hold a host that another group holds too (the sniff saw only the
    file's head), the groups are joined and replayed again together.
    """
    inputs, report, errors = _start(patterns)
    sniffs = _sniff_all(client, inputs.files, fmt, year, report, errors, progress)
    done: dict[tuple[str, ...], ReplayResult] = {}
    failed: dict[tuple[str, ...], str] = {}
    while True:
        groups = group(sniffs)
        todo = [g for g in groups if g.paths not in done and g.paths not in failed]
        outcome = run_tasks(client, [Task(_task_name(g), replay, (list(g.paths), config, fmt, year),
                                          _about(g.paths)) for g in todo], progress)
        report.tasks += len(todo)
        _note_retried(todo, outcome, report)
        for g in todo:
            name = _task_name(g)
            if name in outcome.results:
                done[g.paths] = outcome.results[name]
            else:
                failed[g.paths] = outcome.failed[name]
        found = {p: frozenset(done[g.paths].hosts) for g in groups if g.paths in done
                 for p in g.paths}
        widened = [replace(s, hosts=s.hosts | found[s.path])
                   if s.first is not None and s.path in found else s for s in sniffs]
        if [g.paths for g in group(widened)] == [g.paths for g in groups]:
            break
        sniffs = widened
    retry = list(failed.items())
    alone = _one_by_one(client, retry, "replay", lambda p: (replay, ([p], config, fmt, year)),
                        report, errors, progress)
    result = merge(_host_results(groups, done, retry, alone, report))
    _finish(report, inputs.files, errors, result.errors, result.diagnostics)
    return FleetReplay(result, report)


def merge(parts: Sequence[ReplayResult]) -> ReplayResult:
    """One result from per-host results given in order of first record, as `replay` builds it."""
    merged = ReplayResult(hosts={}, violations=[], assumptions=[], counts=Counts())
    for part in parts:
        merged.hosts.update(part.hosts)
        merged.violations.extend(part.violations)
        merged.assumptions.extend(part.assumptions)
        merged.counts.add(part.counts)
        merged.diagnostics.extend(part.diagnostics)
        merged.errors.extend(part.errors)
    merged.violations.sort(key=lambda v: (v.source, v.line))
    return merged


def fleet_parse(client: Client, patterns: Iterable[str], out_dir: str, fmt: str = "auto",
                year: int | None = None, progress: Progress = None) -> FleetParse:
    """Parse every host's files in its own task into `out_dir`/host=H/day=D/part-N.parquet."""
    inputs, report, errors = _start(patterns)
    total = Written()
    groups = group(_sniff_all(client, inputs.files, fmt, year, report, errors, progress))
    root = str(Path(out_dir).resolve())
    outcome = run_tasks(client, [Task(_task_name(g), write_partitions,
                                      (list(g.paths), root, f"{i:05d}", fmt, year), _about(g.paths))
                                 for i, g in enumerate(groups)], progress)
    report.tasks += len(groups)
    _note_retried(groups, outcome, report)
    done, failed = {}, []
    for i, g in enumerate(groups):
        if _task_name(g) in outcome.results:
            done[g.paths] = outcome.results[_task_name(g)]
            continue
        failed.append((g.paths, outcome.failed[_task_name(g)]))
        # A task may die after writing: its files go, to be read again.
        for left in Path(root).glob(f"host=*/day=*/part-{i:05d}.parquet"):
            left.unlink()
    index = {p: i for i, p in enumerate(inputs.files)}
    alone = _one_by_one(client, failed, "parse",
                        lambda p: (write_partitions, ([p], root, f"alone-{index[p]:05d}", fmt,
                                                      year)), report, errors, progress)
    for part in _host_results(groups, done, failed, alone, report):
        total.counts.add(part.counts)
        total.diagnostics.extend(part.diagnostics)
        total.errors.extend(part.errors)
        total.files.extend(part.files)
    total.files.sort()
    for temp in Path(root).glob("host=*/day=*/.part-*.tmp"):  # what dead tasks left
        temp.unlink(missing_ok=True)
    _finish(report, inputs.files, errors, total.errors, total.diagnostics)
    return FleetParse(total, report)
