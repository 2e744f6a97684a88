"""Seeded generator of random realistic cards, in the JSON card format (``Card.from_json``).

A card has 1 to 6 beneficiaries: the insured, maybe a spouse or partner, children
(twins share a birth date and take birth ranks 1 and 2), and now and then an
ascendant. Names are drawn from common French family and given names, with
accents, compound given names (``Jean-Baptiste``, ``Marie-Hélène``), double family
names (``DUPONT-MOREAU``) and names with a particle (``DE LA FONTAINE``), at most
:data:`MAX_NAME_CHARS` characters.

Every person has an identity number consistent with the card data: a NIR (first
digit 1/2 for the sex, birth year and month, place of birth, order, valid key), or
for about 3 % a NIA (first digit 7/8). Places of birth are metropolitan
departments (Corsica ``2A``/``2B`` from 1976, ``20`` before), overseas
departments (971-976) or abroad (``99`` + country code).

Rights: AMO periods (open or closed), complementary insurance (AMC) for about
60 % of cards, ALD and other exonerations for about 15 % of beneficiaries, CSS for
about 10 % of cards.

With ``ins=True`` every beneficiary also carries an ``ins`` object (its INS
identity: matricule, OID, birth names, sex, birth place). The random draws do not
depend on ``ins``: the same seed gives the same cards with or without it.

Usage::

    from benchmarks.cards import generate_cards
    cards = generate_cards(2000, seed=1, ins=False)
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FAMILY_NAMES",
    "FEMALE_GIVEN_NAMES",
    "MALE_GIVEN_NAMES",
    "MAX_NAME_CHARS",
    "OID_NIA",
    "OID_NIR",
    "REFERENCE_DAY",
    "generate_card",
    "generate_cards",
    "nir_key",
]

#: The day the cards are generated for: ages and rights are computed against it.
REFERENCE_DAY = dt.date(2026, 11, 1)
#: Longest family or given name produced.
MAX_NAME_CHARS = 40
#: INS OIDs: identity from a NIR, and from a NIA.
OID_NIR = "1.2.250.1.213.1.4.8"
OID_NIA = "1.2.250.1.213.1.4.9"

# Common French family names (INSEE frequencies, plus names of the overseas
# departments and of immigration), as printed on a card: upper case, accents kept.
FAMILY_NAMES: tuple[str, ...] = (
    "MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS",
    "MOREAU", "LAURENT", "SIMON", "MICHEL", "LEFÈVRE", "LEROY", "ROUX", "DAVID",
    "BERTRAND", "MOREL", "FOURNIER", "GIRARD", "BONNET", "DUPONT", "LAMBERT", "FONTAINE",
    "ROUSSEAU", "VINCENT", "MÜLLER", "LEFEBVRE", "FAURE", "ANDRÉ", "MERCIER", "BLANC",
    "GUÉRIN", "BOYER", "GARNIER", "CHEVALIER", "FRANÇOIS", "LEGRAND", "GAUTHIER", "GARCIA",
    "PERRIN", "ROBIN", "CLÉMENT", "MORIN", "NICOLAS", "HENRY", "ROUSSEL", "MATHIEU",
    "GAUTIER", "MASSON", "MARCHAND", "DUVAL", "DENIS", "DUMONT", "MARIE", "LEMAIRE",
    "NOËL", "MEYER", "DUFOUR", "MEUNIER", "BRUN", "BLANCHARD", "GIRAUD", "JOLY",
    "RIVIÈRE", "LUCAS", "BRUNET", "GAILLARD", "BARBIER", "ARNAUD", "MARTINEZ", "GÉRARD",
    "ROCHE", "RENARD", "SCHMITT", "ROY", "LEROUX", "COLIN", "VIDAL", "CARON",
    "PICARD", "ROGER", "FABRE", "AUBERT", "LEMOINE", "RENAUD", "DUMAS", "LACROIX",
    "OLIVIER", "PHILIPPE", "BOURGEOIS", "PIERRE", "BENOÎT", "REY", "LECLERC", "PAYET",
    "ROLLAND", "LECLERCQ", "GUILLAUME", "LECOMTE", "LOPEZ", "JEAN", "DUPUY", "GUILLOT",
    "HUBERT", "BERGER", "CARPENTIER", "SANCHEZ", "DUPUIS", "MOULIN", "LOUIS", "DESCHAMPS",
    "HUET", "VASSEUR", "PEREZ", "BOUCHER", "FLEURY", "ROYER", "KLEIN", "JACQUET",
    "ADAM", "PARIS", "POIRIER", "MARTY", "AUBRY", "GUYOT", "CARRÉ", "CHARLES",
    "RENAULT", "CHARPENTIER", "MÉNARD", "MAILLARD", "BARON", "BERTIN", "BAILLY", "HERVÉ",
    "SCHNEIDER", "FERNANDEZ", "LE GALL", "COLLET", "LÉGER", "BOUVIER", "JULIEN", "PRÉVOST",
    "MILLET", "PERROT", "DANIEL", "LE ROUX", "COUSIN", "GERMAIN", "BRETON", "BESSON",
    "LANGLOIS", "RÉMY", "LE GOFF", "PELLETIER", "LÉVÊQUE", "PERRIER", "LEBLANC", "BARRÉ",
    "LEBRUN", "MARCHAL", "WEBER", "MALLET", "HAMON", "BOULANGER", "JACOB", "MONNIER",
    "MICHAUD", "RODRIGUEZ", "GUICHARD", "GILLET", "ÉTIENNE", "GRONDIN", "POULAIN", "TESSIER",
    "CHEVALLIER", "COLLIN", "CHAUVIN", "DA SILVA", "BOUCHET", "GAY", "LEMAÎTRE", "BÉNARD",
    "MARÉCHAL", "HUMBERT", "REYNAUD", "ANTOINE", "HOARAU", "PERRET", "BARTHÉLEMY", "CORDIER",
    "PICHON", "LEJEUNE", "GILBERT", "LAMY", "DELAUNAY", "PASQUIER", "CARLIER", "LAPORTE",
    "NGUYEN", "DIALLO", "TRAORÉ", "COULIBALY", "HADDAD", "BENALI", "DOS SANTOS", "FERREIRA",
    "DA COSTA", "MARTINS", "N'DIAYE", "BOURDON", "LE BIHAN", "QUÉRÉ", "ÉVRARD", "THÉVENIN",
)  # fmt: skip

# Names with a particle, kept whole.
PARTICLE_NAMES: tuple[str, ...] = (
    "DE LA FONTAINE", "DE LA ROCHEFOUCAULD", "DU BELLAY", "D'ALEMBERT", "DE SAINT-EXUPÉRY",
    "DE LA TOUR D'AUVERGNE", "LE BRIS DE KERMADEC", "DU PUY DE GOYON", "DE CHÂTEAUBRIAND",
    "D'ORNANO", "DE VILLIERS DE L'ISLE-ADAM", "DE BEAUMONT", "DU CHÂTELET", "DE LA MOTTE",
)  # fmt: skip

MALE_GIVEN_NAMES: tuple[str, ...] = (
    "Jean", "Pierre", "Michel", "André", "Philippe", "René", "Louis", "Alain",
    "Jacques", "Bernard", "Marcel", "Daniel", "Roger", "Robert", "Paul", "Claude",
    "Christian", "Henri", "Georges", "Nicolas", "François", "Patrick", "Gérard",
    "Christophe", "Joseph", "Julien", "Maurice", "Laurent", "Frédéric", "Raymond",
    "Thierry", "Stéphane", "David", "Pascal", "Éric", "Sébastien", "Guy", "Olivier",
    "Gilles", "Dominique", "Marc", "Lucien", "Yves", "Roland", "Serge", "Vincent",
    "Jérôme", "Bruno", "Didier", "Thomas", "Antoine", "Alexandre", "Maxime", "Guillaume",
    "Hugo", "Lucas", "Léo", "Gabriel", "Raphaël", "Arthur", "Noé", "Jules",
    "Adam", "Maël", "Mathis", "Nathan", "Théo", "Tom", "Enzo", "Ethan",
    "Mathéo", "Timéo", "Clément", "Baptiste", "Benoît", "Cédric", "Damien", "Fabrice",
    "Florian", "Grégory", "Jérémy", "Jonathan", "Kévin", "Loïc", "Mickaël", "Romain",
    "Yannick", "Anthony", "Benjamin", "Sacha", "Valentin", "Quentin", "Adrien", "Victor",
    "Martin", "Samuel", "Mohamed", "Youssef", "Rayan", "Ibrahim", "Amine", "Noah",
    "Liam", "Gaël", "Côme", "Aurélien", "Joël", "Noël", "Hervé", "Régis",
    "Rémi", "Gaëtan", "Emmanuel", "Xavier", "Ludovic", "Franck", "Arnaud", "Mathieu",
)  # fmt: skip

FEMALE_GIVEN_NAMES: tuple[str, ...] = (
    "Marie", "Jeanne", "Françoise", "Monique", "Catherine", "Nathalie", "Isabelle",
    "Jacqueline", "Anne", "Sylvie", "Martine", "Madeleine", "Nicole", "Suzanne", "Hélène",
    "Christine", "Marguerite", "Denise", "Louise", "Christiane", "Yvonne", "Valérie",
    "Sophie", "Stéphanie", "Céline", "Chantal", "Sandrine", "Véronique", "Camille",
    "Émilie", "Julie", "Aurélie", "Claire", "Caroline", "Laurence", "Élodie", "Brigitte",
    "Danielle", "Josiane", "Colette", "Simone", "Odette", "Geneviève", "Paulette",
    "Germaine", "Andrée", "Thérèse", "Léa", "Manon", "Chloé", "Emma", "Inès", "Jade",
    "Alice", "Lina", "Rose", "Anna", "Ambre", "Mila", "Julia", "Léna", "Zoé", "Agathe",
    "Lou", "Juliette", "Margaux", "Anaïs", "Mathilde", "Clémence", "Pauline", "Lucie",
    "Océane", "Laura", "Sarah", "Marine", "Audrey", "Mélanie", "Noémie", "Justine",
    "Charlotte", "Maëlys", "Héloïse", "Capucine", "Adèle", "Éléonore", "Gaëlle", "Maëlle",
    "Solène", "Anaëlle", "Bérénice", "Cécile", "Agnès", "Mireille", "Ginette", "Raymonde",
    "Lucienne", "Fatima", "Aïcha", "Yasmine", "Salomé", "Romane", "Clara", "Éva", "Nina",
    "Victoire", "Iris", "Apolline", "Margot", "Elsa", "Roxane", "Estelle", "Florence",
    "Corinne", "Delphine", "Karine", "Virginie", "Séverine", "Béatrice", "Patricia",
)  # fmt: skip

# Compound given names: a first element and the names it is commonly joined to.
_MALE_COMPOUNDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Jean", ("Baptiste", "Pierre", "Paul", "Marc", "Luc", "Michel", "François", "Claude",
              "Philippe", "Louis", "Christophe", "Charles", "Yves", "Jacques", "Noël",
              "Sébastien", "Rémi", "Emmanuel", "Édouard", "Frédéric")),
    ("Pierre", ("Alexandre", "Antoine", "Yves", "Louis", "Henri", "Emmanuel", "Olivier")),
    ("Louis", ("Marie", "Philippe", "Gabriel")),
    ("Paul", ("Henri", "Émile", "Arthur")),
)  # fmt: skip
_FEMALE_COMPOUNDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Marie", ("Hélène", "Claire", "Christine", "Thérèse", "France", "Pierre", "Laure",
               "Anne", "Noëlle", "Louise", "Ange", "Josée", "Paule", "Cécile", "Françoise",
               "Madeleine", "Agnès", "Élisabeth", "Béatrice", "José")),
    ("Anne", ("Sophie", "Laure", "Marie", "Claire", "Lise", "Charlotte", "Cécile")),
)  # fmt: skip

# Metropolitan departments (Corsica handled apart), with a weight by population.
_DEPARTMENTS: tuple[tuple[str, int], ...] = tuple(
    (f"{d:02d}", w)
    for d, w in (
        (1, 6), (2, 5), (3, 3), (4, 2), (5, 1), (6, 11), (7, 3), (8, 3), (9, 2), (10, 3),
        (11, 4), (12, 3), (13, 20), (14, 7), (15, 1), (16, 4), (17, 6), (18, 3), (19, 2),
        (21, 5), (22, 6), (23, 1), (24, 4), (25, 5), (26, 5), (27, 6), (28, 4), (29, 9),
        (30, 7), (31, 14), (32, 2), (33, 16), (34, 12), (35, 11), (36, 2), (37, 6), (38, 13),
        (39, 3), (40, 4), (41, 3), (42, 8), (43, 2), (44, 14), (45, 7), (46, 2), (47, 3),
        (48, 1), (49, 8), (50, 5), (51, 6), (52, 2), (53, 3), (54, 7), (55, 2), (56, 8),
        (57, 10), (58, 2), (59, 26), (60, 8), (61, 3), (62, 15), (63, 6), (64, 7), (65, 2),
        (66, 5), (67, 11), (68, 8), (69, 19), (70, 2), (71, 5), (72, 6), (73, 4), (74, 8),
        (75, 22), (76, 12), (77, 14), (78, 14), (79, 4), (80, 6), (81, 4), (82, 3), (83, 11),
        (84, 6), (85, 7), (86, 4), (87, 4), (88, 4), (89, 3), (90, 1), (91, 13), (92, 16),
        (93, 16), (94, 14), (95, 12),
    )
)  # fmt: skip
# Overseas departments: code and number of communes.
_OVERSEAS: tuple[tuple[str, int], ...] = (
    ("971", 32), ("972", 34), ("973", 22), ("974", 24), ("975", 2), ("976", 17),
)  # fmt: skip
# Countries of birth (INSEE codes 99xxx), most frequent first.
_COUNTRIES: tuple[str, ...] = (
    "350", "352", "351", "139", "127", "134", "109", "131", "111", "243", "341", "330",
    "328", "335", "223", "132", "122", "208", "112", "428", "401",
)  # fmt: skip
# Large communes (département + commune, COG) where many people are born.
_LARGE_COMMUNES: tuple[str, ...] = (
    "75056", "75112", "75114", "75115", "75117", "13055", "69123", "31555", "06088",
    "44109", "67482", "34172", "33063", "59350", "35238", "51454", "76351", "42218",
    "83137", "38185", "21231", "49007", "72181", "37261", "80021", "63113", "25056",
    "92012", "93066", "94028",
)  # fmt: skip

_AMC_ORGANISATIONS: tuple[str, ...] = (
    "75500017", "77568539", "31316037", "44319072", "78435021", "92103440", "13004570",
    "69003561", "40300010", "90210037", "784394561", "775685399", "33320001", "59011244",
)  # fmt: skip


def nir_key(body: str) -> int:
    """Control key of a 13-character NIR/NIA body (2A counts as 19, 2B as 18)."""
    digits = body.replace("2A", "19", 1) if body[5:7] == "2A" else body
    digits = digits.replace("2B", "18", 1) if body[5:7] == "2B" else digits
    return 97 - int(digits) % 97


@dataclass
class _Person:
    sex: str  # "M" or "F"
    birth: dt.date
    lunar: bool
    family_name: str
    given_names: list[str]
    birth_name: str
    birth_given_names: list[str]
    number: str  # 15 characters, NIR or NIA
    ins_birth_place: str
    qualite: str
    birth_rank: int | None = None
    carries_nir: bool = False
    rights: dict[str, Any] = field(default_factory=dict)


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _random_day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    if last <= first:
        return first
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    # --- names ----------------------------------------------------------------------

    def given_name(self, sex: str) -> str:
        rng = self.rng
        if rng.random() < 0.08:
            compounds = _MALE_COMPOUNDS if sex == "M" else _FEMALE_COMPOUNDS
            first, seconds = rng.choice(compounds)
            return f"{first}-{rng.choice(seconds)}"
        return rng.choice(MALE_GIVEN_NAMES if sex == "M" else FEMALE_GIVEN_NAMES)

    def given_names(self, sex: str) -> list[str]:
        draw = self.rng.random()
        count = 1 if draw < 0.80 else 2 if draw < 0.96 else 3
        names: list[str] = []
        while len(names) < count:
            name = self.given_name(sex)
            if name not in names:
                names.append(name)
        return names

    def family_name(self) -> str:
        rng = self.rng
        draw = rng.random()
        if draw < 0.02:
            return rng.choice(PARTICLE_NAMES)
        if draw < 0.05:
            return self.double_name(rng.choice(FAMILY_NAMES), rng.choice(FAMILY_NAMES))
        return rng.choice(FAMILY_NAMES)

    @staticmethod
    def double_name(first: str, second: str) -> str:
        if first == second:
            return first
        double = f"{first}-{second}"
        return double if len(double) <= MAX_NAME_CHARS else first

    # --- identity numbers -----------------------------------------------------------

    def birth_place(self, birth: dt.date) -> tuple[str, str]:
        """(NIR characters 6-10, INS birth place) of a place of birth."""
        rng = self.rng
        draw = rng.random()
        if draw < 0.07:  # abroad: 99 + country
            code = "99" + rng.choice(_COUNTRIES)
            return code, code
        if draw < 0.11:  # overseas: 97x + 2-digit commune
            dept, communes = rng.choice(_OVERSEAS)
            code = f"{dept}{rng.randint(1, communes):02d}"
            return code, code
        if draw < 0.125:  # Corsica: 20 in numbers given before 1976
            dept = rng.choice(("2A", "2B"))
            commune = f"{rng.choice((4, 33, 96, 148, 247, 272, 322)):03d}"
            nir_dept = dept if birth.year >= 1976 else "20"
            return nir_dept + commune, dept + commune
        if draw < 0.45:
            code = rng.choice(_LARGE_COMMUNES)
        else:
            dept = rng.choices([d for d, _ in _DEPARTMENTS], [w for _, w in _DEPARTMENTS])[0]
            code = f"{dept}{rng.randint(1, 600):03d}"
        if rng.random() < 0.04:
            # Merged or renamed commune: the INS birth place is today's COG.
            return code, f"{code[:2]}{rng.randint(1, 600):03d}"
        return code, code

    def number(self, sex: str, birth: dt.date, lunar: bool, place: str) -> str:
        """A NIR, or for about 3 % a NIA, with its key."""
        rng = self.rng
        nia = rng.random() < 0.03
        first = ("7" if sex == "M" else "8") if nia else ("1" if sex == "M" else "2")
        month = rng.randint(20, 42) if lunar else birth.month
        body = f"{first}{birth.year % 100:02d}{month:02d}{place}{rng.randint(1, 999):03d}"
        return f"{body}{nir_key(body):02d}"

    # --- people ---------------------------------------------------------------------

    def person(
        self,
        sex: str,
        birth: dt.date,
        qualite: str,
        family_name: str,
        *,
        lunar: bool = False,
        place: tuple[str, str] | None = None,
    ) -> _Person:
        if place is None:
            place = self.birth_place(birth)
            lunar = place[0].startswith("99") and self.rng.random() < 0.05
        nir_place, ins_place = place
        given = self.given_names(sex)
        birth_given = list(given)
        if self.rng.random() < 0.10:
            extra = self.given_name(sex)
            if extra not in birth_given and len(birth_given) < 4:
                birth_given.append(extra)
        return _Person(
            sex=sex,
            birth=birth,
            lunar=lunar,
            family_name=family_name,
            given_names=given,
            birth_name=family_name,
            birth_given_names=birth_given,
            number=self.number(sex, birth, lunar, nir_place),
            ins_birth_place=ins_place,
            qualite=qualite,
        )

    def adult_birth(self, low: int, high: int) -> dt.date:
        age_days = self.rng.randint(low * 365 + 1, high * 365 + 300)
        return REFERENCE_DAY - dt.timedelta(days=age_days)

    def insured_age(self) -> int:
        rng = self.rng
        band = rng.choices(
            ((18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 79), (80, 95)),
            (9, 17, 19, 18, 15, 16, 6),
        )[0]
        return rng.randint(*band)

    def household(self) -> list[_Person]:
        rng = self.rng
        insured_sex = rng.choice("MF")
        age = self.insured_age()
        insured_birth = self.adult_birth(age, age)
        family = self.family_name()
        insured = self.person(insured_sex, insured_birth, "assure", family)
        people = [insured]
        # Spouse or partner, more likely between 25 and 75.
        partner_p = 0.15 if age < 25 else 0.45 if age < 75 else 0.30
        spouse: _Person | None = None
        if rng.random() < partner_p:
            spouse_sex = "F" if insured_sex == "M" else "M"
            if rng.random() < 0.04:
                spouse_sex = insured_sex
            spouse_age = max(18, min(99, age + rng.randint(-6, 6)))
            married = rng.random() < 0.65
            qualite = "conjoint" if married else "concubin"
            spouse = self.person(
                spouse_sex, self.adult_birth(spouse_age, spouse_age), qualite, self.family_name()
            )
            if married and spouse_sex != insured_sex:
                wife, husband = (spouse, insured) if spouse_sex == "F" else (insured, spouse)
                if rng.random() < 0.30:
                    # She uses her husband's name; her birth name stays in the INS.
                    wife.family_name = husband.family_name
            people.append(spouse)
        # Children, born when the insured was 18 to 46, at most 20 years old today.
        # Children take the father's name, or (15 %) both parents' birth names.
        child_names = [insured.family_name]
        if spouse is not None:
            father, mother = (spouse, insured) if spouse.sex == "M" else (insured, spouse)
            child_names = [father.birth_name]
            if mother.birth_name != father.birth_name:
                child_names.append(self.double_name(father.birth_name, mother.birth_name))
        count = rng.choices((0, 1, 2, 3, 4), (40, 20, 24, 11, 5))[0]
        earliest = max(
            _years_before(REFERENCE_DAY, 20), insured_birth + dt.timedelta(days=18 * 365)
        )
        latest = min(REFERENCE_DAY, insured_birth + dt.timedelta(days=46 * 365))
        if latest <= earliest:
            count = 0
        children: list[_Person] = []
        while len(children) < count and len(people) + len(children) < 6:
            birth = _random_day(rng, earliest, latest)
            name = rng.choices(child_names, (85, 15))[0] if len(child_names) > 1 else child_names[0]
            child = self.person(rng.choice("MF"), birth, "enfant", name)
            children.append(child)
            if rng.random() < 0.03 and len(people) + len(children) < 6:
                # Twins: same birth date and place, birth ranks 1 and 2.
                place = (child.number[5:10], child.ins_birth_place)
                twin = self.person(
                    rng.choice("MF"), birth, "enfant", name, lunar=child.lunar, place=place
                )
                child.birth_rank, twin.birth_rank = 1, 2
                children.append(twin)
        children.sort(key=lambda c: (c.birth, c.birth_rank or 1))
        people.extend(children)
        # Now and then a parent of the insured.
        if len(people) < 6 and age >= 35 and rng.random() < 0.03:
            parent_sex = rng.choice("MF")
            parent_age = min(100, age + rng.randint(20, 38))
            parent_name = family if parent_sex == "M" else self.family_name()
            people.append(
                self.person(
                    parent_sex, self.adult_birth(parent_age, parent_age), "ascendant", parent_name
                )
            )
        for dependant in people[1:]:
            adult = (REFERENCE_DAY - dependant.birth).days >= 18 * 365
            dependant.carries_nir = rng.random() < (0.8 if adult else 0.6)
        return people

    # --- rights ---------------------------------------------------------------------

    def amo(self, person: _Person, family_start: dt.date) -> list[dict[str, Any]]:
        rng = self.rng
        start = max(family_start, person.birth)
        if person.qualite not in ("assure", "enfant") and rng.random() < 0.4:
            start = _random_day(rng, start, REFERENCE_DAY - dt.timedelta(days=30))
        draw = rng.random()
        if draw < 0.85:
            return [{"start": _iso(start), "end": None}]
        if draw < 0.95:
            end = REFERENCE_DAY + dt.timedelta(days=rng.randint(30, 700))
            return [{"start": _iso(start), "end": _iso(end)}]
        cut = _random_day(rng, start + dt.timedelta(days=1), REFERENCE_DAY)
        return [
            {"start": _iso(start), "end": _iso(cut - dt.timedelta(days=1))},
            {"start": _iso(cut), "end": None},
        ]

    def exonerations(self, person: _Person) -> list[dict[str, Any]]:
        rng = self.rng
        age = (REFERENCE_DAY - person.birth).days // 365
        ald_p = 0.04 if age < 18 else 0.10 if age < 50 else 0.22 if age < 70 else 0.38
        out: list[dict[str, Any]] = []
        floor = max(person.birth, dt.date(2015, 1, 1))
        if rng.random() < ald_p:
            start = _random_day(
                rng, max(floor, REFERENCE_DAY - dt.timedelta(days=6 * 365)), REFERENCE_DAY
            )
            end = None if rng.random() < 0.15 else start + dt.timedelta(days=5 * 365 - 1)
            out.append(
                {"code": "ald", "start": _iso(start), "end": None if end is None else _iso(end)}
            )
        if person.sex == "F" and 20 <= age <= 42 and rng.random() < 0.03:
            start = REFERENCE_DAY - dt.timedelta(days=rng.randint(10, 200))
            end = start + dt.timedelta(days=rng.randint(150, 280))
            out.append({"code": "maternite", "start": _iso(start), "end": _iso(end)})
        if 20 <= age <= 64 and rng.random() < 0.015:
            start = REFERENCE_DAY - dt.timedelta(days=rng.randint(10, 900))
            out.append({"code": "at_mp", "start": _iso(start), "end": None})
        if 30 <= age <= 62 and rng.random() < 0.02:
            start = REFERENCE_DAY - dt.timedelta(days=rng.randint(100, 3000))
            out.append({"code": "invalidite", "start": _iso(max(start, floor)), "end": None})
        return out

    def card(self, ins: bool) -> dict[str, Any]:
        rng = self.rng
        people = self.household()
        insured = people[0]
        issued = _random_day(rng, dt.date(2021, 1, 1), REFERENCE_DAY)
        adulthood = insured.birth + dt.timedelta(days=18 * 365)
        family_start = _random_day(rng, max(adulthood, dt.date(1990, 1, 1)), issued)
        regime = rng.choices(("01", "02", "03", "10", "05", "90"), (85, 6, 3, 3, 2, 1))[0]
        caisse_dept = rng.choices([d for d, _ in _DEPARTMENTS], [w for _, w in _DEPARTMENTS])[0]
        organisme = f"{regime} {caisse_dept}{rng.choice('1111234')} {rng.randint(1, 120):04d}"
        amc: dict[str, Any] | None = None
        if rng.random() < 0.60:
            year = REFERENCE_DAY.year - (rng.random() < 0.2)
            style = rng.randrange(4)
            number = rng.randint(1, 99_999_999)
            contract = (
                f"MUT-{year}-{number % 10_000:04d}",
                f"{number:010d}",
                f"{rng.choice(('GRP', 'IND', 'COL'))}{number:08d}",
                f"{number % 1_000_000:06d}-{rng.randint(1, 99):02d}",
            )[style]
            start = dt.date(year, 1, 1)
            end = (
                None if rng.random() < 0.25 else dt.date(year + (year < REFERENCE_DAY.year), 12, 31)
            )
            amc = {
                "organisation": rng.choice(_AMC_ORGANISATIONS),
                "contract": contract,
                "start": _iso(start),
                "end": None if end is None else _iso(end),
            }
        css: dict[str, Any] | None = None
        if rng.random() < 0.10:
            start = REFERENCE_DAY - dt.timedelta(days=rng.randint(0, 330))
            css = {"start": _iso(start), "end": _iso(start + dt.timedelta(days=364))}
        beneficiaries = []
        for person in people:
            entry: dict[str, Any] = {
                "family_name": person.family_name,
                "given_names": list(person.given_names),
                "birth_date": f"{person.birth.year:04d}-00-00"
                if person.lunar
                else _iso(person.birth),
                "qualite": person.qualite,
                "amo": self.amo(person, family_start),
            }
            if person.birth_rank is not None:
                entry["birth_rank"] = person.birth_rank
            exonerations = self.exonerations(person)
            if exonerations:
                entry["exonerations"] = exonerations
            if css is not None:
                entry["css"] = {"start": max(css["start"], _iso(person.birth)), "end": css["end"]}
            if amc is not None and rng.random() < 0.95:
                entry["amc"] = {**amc, "start": max(amc["start"], _iso(person.birth))}
            if person.carries_nir:
                entry["nir"] = person.number
            if ins:
                entry["ins"] = {
                    "matricule": person.number,
                    "oid": OID_NIA if person.number[0] in "78" else OID_NIR,
                    "birth_name": person.birth_name,
                    "birth_given_names": list(person.birth_given_names),
                    "sex": person.sex,
                    "birth_place": person.ins_birth_place,
                }
            beneficiaries.append(entry)
        # A card is reissued at every birth in the family: it is never older than its
        # youngest beneficiary (a lunar date counts from January 1).
        youngest = max(dt.date(p.birth.year, 1, 1) if p.lunar else p.birth for p in people)
        return {
            "nir": insured.number,
            "organisme": organisme,
            "serial": rng.randrange(10**9, 10**10),
            "issued": _iso(max(issued, youngest)),
            "beneficiaries": beneficiaries,
        }


def generate_card(rng: random.Random, *, ins: bool = True) -> dict[str, Any]:
    """One random card in the JSON card format, drawn from ``rng``."""
    return _Generator(rng).card(ins)


def generate_cards(count: int, seed: int, *, ins: bool = True) -> list[dict[str, Any]]:
    """``count`` random cards; the same ``seed`` gives the same cards."""
    rng = random.Random(seed)
    return [generate_card(rng, ins=ins) for _ in range(count)]
