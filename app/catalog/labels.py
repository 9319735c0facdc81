"""Display names of the catalogue's fixed values, translatable."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

KINDS = {
    "proof_of_concept_centre": _l("Proof-of-concept centre"),
    "pilot_test_base": _l("Pilot-test base"),
    "public_technology_platform": _l("Public technology platform"),
}

DIRECTIONS = {
    "biomedicine": _l("Biomedicine"),
    "medical_devices": _l("Medical devices"),
    "information_communication": _l("Information and communication"),
    "integrated_circuits": _l("Integrated circuits"),
    "advanced_materials": _l("Advanced materials"),
    "new_energy": _l("New energy"),
    "environmental": _l("Environmental protection"),
    "marine": _l("Marine"),
}

DAYS = {
    "mon": _l("Monday"),
    "tue": _l("Tuesday"),
    "wed": _l("Wednesday"),
    "thu": _l("Thursday"),
    "fri": _l("Friday"),
    "sat": _l("Saturday"),
    "sun": _l("Sunday"),
}
