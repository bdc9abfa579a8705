"""Domain vocabulary of Dutch social work shared by the generator, the contract and the features.

Kept in one place so that the synthetic sector, validation and features can never
disagree on a label or a norm.
"""

OCCUPATIONS = (
    "maatschappelijk werker",
    "jeugd- en gezinswerker",
    "jeugdzorgwerker",
    "wijkteam generalist",
    "Wmo-consulent",
    "klantmanager",
    "jongerenwerker",
    "opbouwwerker",
    "buurtsportcoach",
    "casemanager",
    "ervaringsdeskundige",
)
DOMAINS = ("wmo", "jeugd", "participatie")
CONTRACT_TYPES = ("permanent", "temporary", "flex")
GENDERS = ("f", "m", "x")
TERMINATION_REASONS = ("voluntary", "involuntary", "retirement", "end_of_temporary_contract")
ASSIGNMENT_ROLES = ("primary", "secondary")
ASSIGNMENT_END_REASONS = ("closed", "handover", "worker_left")
VULNERABILITY_FLAGS = ("flag_youth", "flag_out_of_home", "flag_intellectual_disability", "flag_crisis")
HR_EVENT_TYPES = (
    "scale_step",        # detail: "scale-step" after the change, e.g. "8-5"
    "promotion",         # detail: "scale-step" after the change
    "manager_change",    # detail: the new manager's id
    "team_move",         # detail: the new team id
    "training",
    "sick_leave",        # a spell: event_date = first day, end_date = last day (empty while ongoing)
    "overtime",          # value: overtime hours in the month starting at event_date
    "contract_renewal",  # detail: the new contract type; end_date: the new contract end (empty if permanent)
    "fte_change",        # value: the new fte
    "appraisal",
    "engagement_survey", # value: score 1-10
    # Notice of the employment's end: event_date = the day it was given, end_date = the planned last day (may lie
    # after the export); detail: who gave it ("worker" resigning, "employer" announcing that a temporary contract
    # ends unrenewed). A fact from event_date on, never a model feature (a certain departure, not a risk).
    "notice",
)
NOTICE_GIVERS = ("worker", "employer")
# Where a child placed out of home lives: with a foster family (pleeggezin) or in a residential group.
PLACEMENT_SETTINGS = ("foster_family", "residential_group")

# Youth protection agreed a cap of 12 children per fte in 2023 (docs/evidence.md#caseload-norm).
CASELOAD_NORM_PER_FTE = 12.0
# A case of complexity 4 or 5 is "complex" (the 1-5 scale of the data contract).
COMPLEX_CASE_MIN = 4

# CBS municipality codes (the contract's region and municipality columns) and the municipality's name, for the
# sector page: the municipalities of the synthetic sector (synth/organisations.py) and of the larger cities a real
# export names most. A code not listed is shown as itself (``municipality_name``).
MUNICIPALITY_NAMES = {
    "GM0014": "Groningen", "GM0034": "Almere", "GM0080": "Leeuwarden", "GM0153": "Enschede", "GM0193": "Zwolle",
    "GM0200": "Apeldoorn", "GM0202": "Arnhem", "GM0268": "Nijmegen", "GM0344": "Utrecht", "GM0363": "Amsterdam",
    "GM0392": "Haarlem", "GM0518": "'s-Gravenhage", "GM0599": "Rotterdam", "GM0758": "Breda",
    "GM0772": "Eindhoven", "GM0855": "Tilburg",
}


def municipality_name(code: str) -> str | None:
    """The municipality's name for a CBS code, None where the code is not in ``MUNICIPALITY_NAMES``."""
    return MUNICIPALITY_NAMES.get(code)
