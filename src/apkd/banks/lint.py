"""Quality checks of a bank a reviewer can defend (``apkd bank lint``; issue 15).

Pure module: it reads parsed banks (:mod:`apkd.banks.bankfile`) and imports nothing from the
database, so the console can show the same checks as warnings on upload. Each check gives a
value, the threshold it is held to and whether it passes; the details name the items.

Checks, per scheme:
  * ``panjang_paket``: items on one form (>= ``min_form_items``);
  * ``porsi_penerapan``: the share of a form the blueprint guarantees to apply a rule
    (``level_shares`` of penerapan and penalaran; >= ``min_applied_share``);
  * ``rasio_pool``: each unit's items / what it draws (>= ``min_pool_ratio``);
  * ``kunci_terpanjang``: single-choice items whose key is the one longest option
    (<= ``max_longest_key``);
  * ``posisi_kunci``: chi-square test that key positions (as written) are spread evenly,
    per option count (p >= ``min_position_p``);
  * ``stem_negatif``: negative stems whose negation is not in capitals (TIDAK, KECUALI, BUKAN);
  * ``opsi_semua``: "semua benar/salah"-style options;
  * ``rujukan_pasal``: references that name no article (Pasal) or annex part (Lampiran);
  * ``stem_mirip``: duplicate or near-duplicate stems (similarity >= ``near_duplicate``),
    unless the two items are declared enemies (they never share a form).
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from apkd.banks.bankfile import BankFile, ItemSpec

__all__ = ["Check", "SchemeLint", "Thresholds", "chi_square_sf", "format_report", "lint_bank"]

APPLIED_LEVELS = ("penerapan", "penalaran")

# A negative question: the exception is asked for. Written in lower case it is easy to miss.
_NEGATIVE = re.compile(
    r"\b(kecuali"
    r"|(yang )?(tidak|bukan) (termasuk|merupakan)"
    r"|(yang )?tidak (tepat|benar|sesuai|boleh|diperbolehkan|wajib|perlu|dilarang)"
    r"|bukan (tugas|kewenangan|tujuan|unsur|dokumen|kewajiban))\b"
)
_ALL_OPTION = re.compile(
    r"^\s*(semua|seluruh|tidak ada)\b.*\b(benar|salah|tepat|di atas)\b"
    r"|^\s*[a-e]\s*(,\s*[a-e]\s*)*(dan|serta)\s*[a-e]\s+(benar|salah)\b",
    re.IGNORECASE,
)
_ARTICLE = re.compile(r"\b(Pasal|Lampiran)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Thresholds:
    max_longest_key: float = 0.30
    min_position_p: float = 0.05
    max_negative_unemphasised: int = 0
    max_all_options: int = 0
    min_pool_ratio: float = 2.5
    max_unanchored: int = 0
    near_duplicate: float = 0.90
    max_near_duplicates: int = 0
    min_form_items: int = 40
    min_applied_share: float = 1 / 3


@dataclass
class Check:
    code: str
    title: str
    value: str
    limit: str
    ok: bool
    details: list[str] = field(default_factory=list)


@dataclass
class SchemeLint:
    scheme: str
    path: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def chi_square_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with ``df`` (>= 1) degrees of freedom."""
    if x <= 0:
        return 1.0
    half = x / 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, math.exp(-half) * total)
    total = math.erfc(math.sqrt(half))
    for i in range(1, (df - 1) // 2 + 1):
        total += math.exp((i - 0.5) * math.log(half) - half - math.lgamma(i + 0.5))
    return min(1.0, total)


def _single(items: Sequence[ItemSpec]) -> list[ItemSpec]:
    return [i for i in items if i.type == "single"]


def _key_is_longest(item: ItemSpec) -> bool:
    lengths = {option_id: len(text) for option_id, text in item.options}
    key = lengths[str(item.answer)]
    return all(key > length for option_id, length in lengths.items() if option_id != item.answer)


def _question(stem: str) -> str:
    """The sentence that asks: the stem after its last full stop that ends a sentence."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z])", stem.strip())
    return parts[-1]


def _norm(stem: str) -> str:
    return " ".join(re.findall(r"[0-9a-z]+", stem.lower()))


def lint_bank(bank: BankFile, limits: Thresholds | None = None) -> SchemeLint:
    t = limits or Thresholds()
    scheme = bank.scheme
    items = bank.items
    checks: list[Check] = []

    length = scheme.form_length()
    checks.append(
        Check(
            "panjang_paket",
            "Jumlah soal per paket",
            str(length),
            f">= {t.min_form_items}",
            length >= t.min_form_items,
        )
    )

    minimums = scheme.level_minimums()
    applied = sum(minimums.get(level, 0) for level in APPLIED_LEVELS)
    share = applied / length if length else 0.0
    checks.append(
        Check(
            "porsi_penerapan",
            "Porsi penerapan/penalaran yang dijamin per paket",
            f"{applied}/{length} = {share:.0%}",
            f">= {t.min_applied_share:.0%}",
            share + 1e-9 >= t.min_applied_share,
            [
                f"{level}: {count} soal ada di bank"
                for level, count in sorted(Counter(i.cognitive_level for i in items).items())
            ],
        )
    )

    ratio_details: list[str] = []
    worst = math.inf
    for unit in scheme.units:
        pool = len(bank.items_of_unit(unit.code))
        ratio = pool / unit.items_per_form
        worst = min(worst, ratio)
        mark = "" if ratio + 1e-9 >= t.min_pool_ratio else "  <-- kurang"
        ratio_details.append(
            f"{unit.code}: {pool} soal / {unit.items_per_form} per paket = {ratio:.2f}{mark}"
        )
    checks.append(
        Check(
            "rasio_pool",
            "Rasio soal di bank terhadap soal per paket (terkecil)",
            f"{worst:.2f}",
            f">= {t.min_pool_ratio:g}",
            worst + 1e-9 >= t.min_pool_ratio,
            ratio_details,
        )
    )

    singles = _single(items)
    longest = [i.id for i in singles if _key_is_longest(i)]
    rate = len(longest) / len(singles) if singles else 0.0
    checks.append(
        Check(
            "kunci_terpanjang",
            "Soal pilihan tunggal yang kuncinya opsi terpanjang",
            f"{len(longest)}/{len(singles)} = {rate:.0%}",
            f"<= {t.max_longest_key:.0%}",
            rate <= t.max_longest_key + 1e-9,
            [", ".join(longest)] if longest else [],
        )
    )

    by_count: dict[int, list[int]] = {}
    for i in singles:
        ids = [option_id for option_id, _ in i.options]
        by_count.setdefault(len(ids), []).append(ids.index(str(i.answer)))
    p_min = 1.0
    pos_details: list[str] = []
    for k, positions in sorted(by_count.items()):
        n = len(positions)
        counts = Counter(positions)
        spread = " ".join(f"{chr(ord('a') + j)}:{counts.get(j, 0)}" for j in range(k))
        if n < 5 * k:
            pos_details.append(f"{k} opsi: {n} soal ({spread}); terlalu sedikit untuk diuji")
            continue
        expected = n / k
        x = sum((counts.get(j, 0) - expected) ** 2 / expected for j in range(k))
        p = chi_square_sf(x, k - 1)
        p_min = min(p_min, p)
        pos_details.append(f"{k} opsi: {n} soal ({spread}); chi-kuadrat={x:.2f}, df={k - 1}, p={p:.3f}")
    checks.append(
        Check(
            "posisi_kunci",
            "Sebaran posisi kunci (uji chi-kuadrat, p terkecil)",
            f"p={p_min:.3f}",
            f"p >= {t.min_position_p:g}",
            p_min >= t.min_position_p,
            pos_details,
        )
    )

    negative = [i.id for i in items if _NEGATIVE.search(_question(i.stem))]
    checks.append(
        Check(
            "stem_negatif",
            "Stem negatif yang tidak ditegaskan (TIDAK, KECUALI, BUKAN)",
            str(len(negative)),
            f"<= {t.max_negative_unemphasised}",
            len(negative) <= t.max_negative_unemphasised,
            [", ".join(negative)] if negative else [],
        )
    )

    all_options = [f"{i.id} ({oid})" for i in items for oid, text in i.options if _ALL_OPTION.search(text)]
    checks.append(
        Check(
            "opsi_semua",
            'Opsi "semua benar/salah" dan sejenisnya',
            str(len(all_options)),
            f"<= {t.max_all_options}",
            len(all_options) <= t.max_all_options,
            [", ".join(all_options)] if all_options else [],
        )
    )

    unanchored = [i.id for i in items if not (i.reference and _ARTICLE.search(i.reference))]
    checks.append(
        Check(
            "rujukan_pasal",
            "Rujukan tanpa Pasal/Lampiran",
            str(len(unanchored)),
            f"<= {t.max_unanchored}",
            len(unanchored) <= t.max_unanchored,
            [", ".join(unanchored)] if unanchored else [],
        )
    )

    enemy_pairs = {frozenset((a, b)) for group in scheme.enemies for a in group for b in group if a != b}
    normed = [(i.id, _norm(i.stem)) for i in items]
    similar: list[str] = []
    for x_index, (x_id, x_text) in enumerate(normed):
        for y_id, y_text in normed[x_index + 1 :]:
            if frozenset((x_id, y_id)) in enemy_pairs:
                continue
            matcher = difflib.SequenceMatcher(None, x_text, y_text, autojunk=False)
            if matcher.real_quick_ratio() < t.near_duplicate or matcher.quick_ratio() < t.near_duplicate:
                continue
            ratio = matcher.ratio()
            if ratio >= t.near_duplicate:
                similar.append(f"{x_id} ~ {y_id} ({ratio:.0%})")
    checks.append(
        Check(
            "stem_mirip",
            "Pasangan stem sama atau hampir sama (bukan enemies)",
            str(len(similar)),
            f"<= {t.max_near_duplicates}",
            len(similar) <= t.max_near_duplicates,
            similar,
        )
    )
    return SchemeLint(scheme.code, bank.path, checks)


def format_report(results: Sequence[SchemeLint]) -> str:
    """A table per scheme (check, value, threshold, verdict), then what each failing check names."""
    lines: list[str] = []
    for result in results:
        lines.append(f"Skema {result.scheme} ({result.path})")
        width = max(len(c.title) for c in result.checks)
        value_width = max(len(c.value) for c in result.checks)
        limit_width = max(len(c.limit) for c in result.checks)
        header = f"  {'pemeriksaan':<{width}}  {'nilai':<{value_width}}  {'batas':<{limit_width}}  hasil"
        lines.append(header)
        lines.append("  " + "-" * (len(header) - 2))
        for c in result.checks:
            verdict = "lulus" if c.ok else "GAGAL"
            lines.append(
                f"  {c.title:<{width}}  {c.value:<{value_width}}  {c.limit:<{limit_width}}  {verdict}"
            )
        for c in result.checks:
            if c.details and (not c.ok or c.code in ("rasio_pool", "posisi_kunci", "porsi_penerapan")):
                lines.append(f"  {c.title}:")
                lines.extend(f"    {d}" for d in c.details)
        lines.append("")
    failed = [r.scheme for r in results if not r.ok]
    lines.append(
        f"{len(results)} skema diperiksa; " + (f"gagal: {', '.join(failed)}" if failed else "semua lulus")
    )
    return "\n".join(lines)
