"""What changed since the previous survey point: statuses, who reports, patients month on month.

:func:`compute_changes` compares wave *W* (and its months) with the previous
wave: the latest wave with a smaller number that has data (a patients or a
cells row). It returns plain dataclasses holding numbers; :func:`describe` and
:func:`describe_region` turn them into French sentences for the deck.

Definitions (also in ``docs/data.md``):

- a region is **reporting** in a wave when it has at least one non-empty
  patients value in the wave's months (for the previous wave: in any month it
  holds), or a cells row whose status is not ``en_attente`` (awaiting the
  region's answer is not an answer);
- a region's month is **complete** when all three categories are filled; a
  month on month change is computed only between two complete months of the
  same region — never against a blank or a partial month ("non comparable");
- the month before a month *m* is the calendar month before it; its values come
  from *W* when *W* holds that month, otherwise from the previous wave.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from ...fmt import fmt_date, fmt_int, fmt_month
from .data import CATEGORIES, PostCovidData

__all__ = ["StatusChange", "MonthChange", "RegionChange", "Changes", "compute_changes", "previous_wave",
           "month_before", "title", "describe", "describe_region", "STATUS_SHORT"]

#: short French wording of a status inside a sentence
STATUS_SHORT = {
    "confirmees": "cellules confirmées",
    "en_cours": "remontée en cours",
    "non_mise_en_place": "pas de mise en place des cellules",
    "en_attente": "en attente de réponse",
    None: "absente de l'enquête",
}


def month_before(month: str) -> str:
    """``'2021-01'`` → ``'2020-12'``."""
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


@dataclass(frozen=True)
class StatusChange:
    """A region whose cells status differs between the two waves (None = no cells row)."""

    region: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class MonthChange:
    """National patients total of one month, and its change on the month before at constant scope."""

    month: str
    total: int                      # every reported value of the month (all categories, all regions)
    regions: int                    # how many regions reported at least one value that month
    previous_month: str
    previous_wave: int | None       # wave whose data gives the month before (None: nobody holds it)
    common_regions: list[str]       # regions complete in both months: the comparison's scope
    current_common: int | None      # total of the month over common_regions
    previous_common: int | None     # total of the month before over common_regions

    @property
    def comparable(self) -> bool:
        return bool(self.common_regions)

    @property
    def change(self) -> int | None:
        return None if not self.comparable else self.current_common - self.previous_common

    @property
    def change_pct(self) -> float | None:
        if not self.comparable or self.previous_common == 0:
            return None
        return 100.0 * (self.current_common - self.previous_common) / self.previous_common


@dataclass(frozen=True)
class RegionChange:
    """One region, latest month against the month before; values are complete-month totals or None.

    Listed only for regions with a patients row (even blank) in either month.
    """

    region: str
    month: str
    previous_month: str
    value: int | None               # total of the month when complete, else None
    previous: int | None            # total of the month before when complete, else None
    reason: str | None              # why not comparable: "missing" / "partial" + " " + month, or None

    @property
    def comparable(self) -> bool:
        return self.value is not None and self.previous is not None

    @property
    def change(self) -> int | None:
        return self.value - self.previous if self.comparable else None

    @property
    def change_pct(self) -> float | None:
        if not self.comparable or self.previous == 0:
            return None
        return 100.0 * (self.value - self.previous) / self.previous


@dataclass(frozen=True)
class Changes:
    """Everything that changed between wave ``wave`` and ``previous_wave`` (None: first point)."""

    wave: int
    months: tuple[str, ...]
    previous_wave: int | None
    previous_date: dt.date | None
    previous_label: str | None
    status_changes: list[StatusChange]
    newly_reporting: list[str]
    no_longer_reporting: list[str]
    totals: list[MonthChange]
    regions: list[RegionChange]
    names: dict[str, str]           # abbr → French name, for sentences

    @property
    def first(self) -> bool:
        """True when there is no earlier point to compare with."""
        return self.previous_wave is None

    def region(self, abbr: str) -> RegionChange | None:
        return next((r for r in self.regions if r.region == abbr), None)


# --------------------------------------------------------------------------- computing

def previous_wave(data: PostCovidData, wave: int) -> int | None:
    """The latest wave before ``wave`` that has data (a patients or a cells row), or None."""
    with_data = set(data.patients["wave"]) | set(data.cells["wave"])
    earlier = [int(w) for w in with_data if int(w) < wave]
    return max(earlier) if earlier else None


def _values(data: PostCovidData, wave: int, month: str) -> dict[str, dict[str, int]]:
    """region → {category: value} of the non-empty values of one wave and month."""
    p = data.patients
    rows = p[(p["wave"] == wave) & (p["month"] == month) & p["patients"].notna()]
    out: dict[str, dict[str, int]] = {}
    for r in rows.itertuples():
        out.setdefault(r.region, {})[r.category] = int(r.patients)
    return out


def _has_month(data: PostCovidData, wave: int | None, month: str) -> bool:
    if wave is None:
        return False
    p = data.patients
    return bool(((p["wave"] == wave) & (p["month"] == month)).any())


def _reporting(data: PostCovidData, wave: int, months: list[str] | None) -> set[str]:
    p = data.patients
    rows = p[(p["wave"] == wave) & p["patients"].notna()]
    if months is not None:
        rows = rows[rows["month"].isin(months)]
    c = data.cells
    answered = c[(c["wave"] == wave) & (c["status"] != "en_attente")]
    return set(rows["region"]) | set(answered["region"])


def _complete(values: dict[str, int] | None) -> int | None:
    if not values or len(values) < len(CATEGORIES):
        return None
    return sum(values.values())


def _statuses(data: PostCovidData, wave: int) -> dict[str, str]:
    c = data.cells
    return dict(zip(c.loc[c["wave"] == wave, "region"], c.loc[c["wave"] == wave, "status"]))


def compute_changes(data: PostCovidData, wave: int, months: list[str]) -> Changes:
    """What changed in ``wave`` (covering ``months``) since the previous wave with data."""
    months = list(months)
    order = list(data.regions["abbr"])
    names = dict(zip(data.regions["abbr"], data.regions["name"]))
    prev = previous_wave(data, wave)

    status_changes: list[StatusChange] = []
    newly: list[str] = []
    gone: list[str] = []
    prev_date = prev_label = None
    if prev is not None:
        row = data.wave(prev)
        prev_date, prev_label = row["date"], str(row["label"])
        old, new = _statuses(data, prev), _statuses(data, wave)
        status_changes = [StatusChange(r, old.get(r), new.get(r)) for r in order if old.get(r) != new.get(r)]
        now, before = _reporting(data, wave, months), _reporting(data, prev, None)
        newly = [r for r in order if r in now and r not in before]
        gone = [r for r in order if r in before and r not in now]

    def source_of(month: str) -> int | None:
        if month in months or _has_month(data, wave, month):
            return wave
        if _has_month(data, prev, month):
            return prev
        return None

    totals = []
    for month in months:
        current = _values(data, wave, month)
        pm = month_before(month)
        src = source_of(pm)
        before_values = _values(data, src, pm) if src is not None else {}
        common = [r for r in order if _complete(current.get(r)) is not None
                  and _complete(before_values.get(r)) is not None]
        totals.append(MonthChange(
            month=month, total=sum(sum(v.values()) for v in current.values()), regions=len(current),
            previous_month=pm, previous_wave=src, common_regions=common,
            current_common=sum(_complete(current[r]) for r in common) if common else None,
            previous_common=sum(_complete(before_values[r]) for r in common) if common else None))

    regions: list[RegionChange] = []
    if months:
        last = months[-1]
        pm = month_before(last)
        src = source_of(pm)
        current = _values(data, wave, last)
        before_values = _values(data, src, pm) if src is not None else {}
        p = data.patients
        present = set(p.loc[(p["wave"] == wave) & (p["month"] == last), "region"])
        if src is not None:
            present |= set(p.loc[(p["wave"] == src) & (p["month"] == pm), "region"])
        for r in (r for r in order if r in present):
            value, previous = _complete(current.get(r)), _complete(before_values.get(r))
            reason = None
            if value is None:
                reason = f"{'partial' if current.get(r) else 'missing'} {last}"
            elif previous is None:
                reason = f"{'partial' if before_values.get(r) else 'missing'} {pm}"
            regions.append(RegionChange(r, last, pm, value, previous, reason))

    return Changes(wave=wave, months=tuple(months), previous_wave=prev, previous_date=prev_date,
                   previous_label=prev_label, status_changes=status_changes, newly_reporting=newly,
                   no_longer_reporting=gone, totals=totals, regions=regions, names=names)


# --------------------------------------------------------------------------- French sentences

def _pct(value: float) -> str:
    """``14.4`` → ``'+14 %'``; ``-5`` → ``'−5 %'`` (whole percent, sign always shown)."""
    rounded = int(round(value))
    sign = "+" if rounded > 0 else ("−" if rounded < 0 else "")
    return f"{sign}{fmt_int(abs(rounded))}\u00a0%"


def _patients(n: int) -> str:
    return f"{fmt_int(n)} patient{'s' if n > 1 else ''}"


def _regions(n: int) -> str:
    return f"{fmt_int(n)} région{'s' if n > 1 else ''}"


def _names(changes: Changes, abbrs: list[str]) -> str:
    return ", ".join(changes.names.get(a, a) for a in abbrs)


def _evolution(current: int, previous: int, pct: float | None) -> str:
    if pct is not None:
        return _pct(pct)
    return f"{fmt_int(current)} contre {fmt_int(previous)}"


def _month_sentence(t: MonthChange) -> str:
    head = f"{_patients(t.total)} en {fmt_month(t.month)} ({_regions(t.regions)})"
    if t.regions == 0:
        return f"{fmt_month(t.month).capitalize()} : aucune région n'a renseigné de patients."
    if t.previous_wave is None:
        return f"{head} ; pas de donnée pour {fmt_month(t.previous_month)}."
    if not t.comparable:
        return (f"{head} ; non comparable à {fmt_month(t.previous_month)} "
                "(aucune région complète les deux mois).")
    scope = (f"à périmètre constant ({_regions(len(t.common_regions))} complètes les deux mois : "
             f"{fmt_int(t.previous_common)} → {fmt_int(t.current_common)})")
    if t.change_pct is None:
        return f"{head} ; {fmt_month(t.previous_month)} : 0 patient {scope}."
    return f"{head}, {_pct(t.change_pct)} sur {fmt_month(t.previous_month)} {scope}."


def describe_region(changes: Changes, abbr: str) -> str:
    """One region's line: its change for the latest month, or why it is not comparable."""
    name = changes.names.get(abbr, abbr)
    r = changes.region(abbr)
    if r is None:
        month = fmt_month(changes.months[-1]) if changes.months else "ce point"
        return f"{name} : non comparable ({month} non renseigné)."
    if r.comparable:
        if r.change_pct is None:
            return (f"{name} : {_patients(r.value)} en {fmt_month(r.month)}, "
                    f"contre 0 en {fmt_month(r.previous_month)}.")
        return (f"{name} : {_patients(r.value)} en {fmt_month(r.month)}, {_pct(r.change_pct)} "
                f"sur {fmt_month(r.previous_month)} ({fmt_int(r.previous)}).")
    kind, month = r.reason.split(" ")
    why = "non renseigné" if kind == "missing" else "incomplet"
    return f"{name} : non comparable ({fmt_month(month)} {why})."


def title(changes: Changes) -> str:
    """The slide title: "Évolutions depuis le point du 15/11/2021" (first point: says so)."""
    if changes.first:
        return "Évolutions : premier point d'étape"
    return f"Évolutions depuis le point du {fmt_date(changes.previous_date)}"


def describe(changes: Changes) -> list[str]:
    """The "what changed" slide as French sentences (one per line)."""
    lines: list[str] = []
    if changes.first:
        lines.append("Premier point d'étape : pas de point antérieur auquel le comparer.")
    else:
        since = f"Depuis le point du {fmt_date(changes.previous_date)} ({changes.previous_label})"
        if changes.status_changes:
            parts = [f"{changes.names.get(s.region, s.region)} ({STATUS_SHORT.get(s.old, s.old)} → "
                     f"{STATUS_SHORT.get(s.new, s.new)})" for s in changes.status_changes]
            lines.append(f"{since}, statut modifié : {' ; '.join(parts)}.")
        else:
            lines.append(f"{since} : aucun changement de statut.")
        if changes.newly_reporting:
            lines.append(f"Nouvelles réponses : {_names(changes, changes.newly_reporting)}.")
        if changes.no_longer_reporting:
            lines.append(f"Plus de réponse : {_names(changes, changes.no_longer_reporting)}.")
    lines.extend(_month_sentence(t) for t in changes.totals)
    comparable = [r for r in changes.regions if r.comparable]
    lines.extend(describe_region(changes, r.region) for r in comparable)
    others = [r.region for r in changes.regions if not r.comparable]
    if others and changes.regions:
        last = changes.regions[0]
        lines.append(f"Non comparables ({fmt_month(last.month)} / {fmt_month(last.previous_month)}) : "
                     f"{_names(changes, others)}.")
    return lines
